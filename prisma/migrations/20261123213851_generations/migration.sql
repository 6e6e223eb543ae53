-- CreateEnum
CREATE TYPE "Modality" AS ENUM ('text', 'image', 'speech', 'video');

-- CreateEnum
CREATE TYPE "GenerationStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "GenerationFileRole" AS ENUM ('input', 'output');

-- CreateTable
CREATE TABLE "catalog_models" (
    "id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "modality" "Modality" NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "capabilities" JSONB NOT NULL DEFAULT '{}',
    "input_per_million" BIGINT NOT NULL DEFAULT 0,
    "output_per_million" BIGINT NOT NULL DEFAULT 0,
    "cached_input_per_million" BIGINT NOT NULL DEFAULT 0,
    "per_image" BIGINT NOT NULL DEFAULT 0,
    "image_prices" JSONB NOT NULL DEFAULT '{}',
    "per_video_second" BIGINT NOT NULL DEFAULT 0,
    "per_thousand_characters" BIGINT NOT NULL DEFAULT 0,
    "markup_bps" INTEGER NOT NULL DEFAULT 0,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "sort_order" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "catalog_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversations" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "generations" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "conversation_id" TEXT,
    "regenerates_id" TEXT,
    "compare_group" TEXT,
    "model_id" TEXT NOT NULL,
    "model_label" TEXT NOT NULL,
    "modality" "Modality" NOT NULL,
    "status" "GenerationStatus" NOT NULL DEFAULT 'queued',
    "prompt" TEXT NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "output_text" TEXT,
    "finish_reason" TEXT,
    "usage" JSONB NOT NULL DEFAULT '{}',
    "progress" INTEGER NOT NULL DEFAULT 0,
    "upstream_job_id" TEXT,
    "error_kind" TEXT,
    "error_message" TEXT,
    "cost_cap" BIGINT,
    "held_amount" BIGINT NOT NULL DEFAULT 0,
    "cost" BIGINT,
    "uncapped_cost" BIGINT,
    "hold_id" TEXT,
    "transfer_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "first_output_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "generations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "generation_files" (
    "generation_id" TEXT NOT NULL,
    "file_id" TEXT NOT NULL,
    "role" "GenerationFileRole" NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "generation_files_pkey" PRIMARY KEY ("generation_id","file_id")
);

-- CreateIndex
CREATE INDEX "catalog_models_modality_sort_order_idx" ON "catalog_models"("modality", "sort_order");

-- CreateIndex
CREATE INDEX "conversations_user_id_updated_at_idx" ON "conversations"("user_id", "updated_at");

-- CreateIndex
CREATE UNIQUE INDEX "generations_hold_id_key" ON "generations"("hold_id");

-- CreateIndex
CREATE INDEX "generations_user_id_created_at_idx" ON "generations"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "generations_conversation_id_created_at_idx" ON "generations"("conversation_id", "created_at");

-- CreateIndex
CREATE INDEX "generations_status_idx" ON "generations"("status");

-- CreateIndex
CREATE UNIQUE INDEX "generations_user_id_request_id_key" ON "generations"("user_id", "request_id");

-- CreateIndex
CREATE INDEX "generation_files_file_id_idx" ON "generation_files"("file_id");

-- AddForeignKey
ALTER TABLE "generations" ADD CONSTRAINT "generations_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "generation_files" ADD CONSTRAINT "generation_files_generation_id_fkey" FOREIGN KEY ("generation_id") REFERENCES "generations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "generation_files" ADD CONSTRAINT "generation_files_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "stored_files"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Full-text search over prompts and outputs (History). The 'simple' configuration does not stem, so it
-- works the same for every language, and queries match word prefixes instead. Not in schema.prisma: Prisma
-- cannot describe generated tsvector columns (raw queries in app/models/history.server.ts use it).
ALTER TABLE "generations" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  to_tsvector('simple', coalesce("prompt", '') || ' ' || coalesce("output_text", ''))
) STORED;

CREATE INDEX "generations_search_idx" ON "generations" USING GIN ("search");

-- A generation is either in flight (no cost yet) or settled with 0 <= cost <= held.
ALTER TABLE "generations" ADD CONSTRAINT "generations_cost_within_hold"
  CHECK ("cost" IS NULL OR ("cost" >= 0 AND "cost" <= "held_amount"));
ALTER TABLE "generations" ADD CONSTRAINT "generations_progress_range" CHECK ("progress" BETWEEN 0 AND 100);

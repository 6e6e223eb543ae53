-- CreateEnum
CREATE TYPE "StripeCheckoutStatus" AS ENUM ('open', 'paid', 'expired', 'failed');

-- CreateEnum
CREATE TYPE "ManualTopUpStatus" AS ENUM ('pending', 'approved', 'rejected');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "low_balance_notified_at" TIMESTAMPTZ(3),
ADD COLUMN     "low_balance_threshold" BIGINT;

-- CreateTable
CREATE TABLE "stripe_checkouts" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "status" "StripeCheckoutStatus" NOT NULL DEFAULT 'open',
    "payment_intent_id" TEXT,
    "transfer_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "stripe_checkouts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stripe_events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "money_flags" (
    "id" TEXT NOT NULL,
    "user_id" TEXT,
    "kind" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "reference" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    "resolved_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "money_flags_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "manual_payment_methods" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "instructions" TEXT NOT NULL,
    "account_number" TEXT NOT NULL,
    "account_name" TEXT,
    "currency_note" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "sort_order" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "manual_payment_methods_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "manual_top_ups" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "method_id" TEXT NOT NULL,
    "claimed_amount" BIGINT NOT NULL,
    "credited_amount" BIGINT,
    "sender_number" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "reference_key" TEXT NOT NULL,
    "receipt_file_id" TEXT,
    "status" "ManualTopUpStatus" NOT NULL DEFAULT 'pending',
    "decision_note" TEXT,
    "decided_by_id" TEXT,
    "decided_at" TIMESTAMPTZ(3),
    "transfer_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "manual_top_ups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stored_files" (
    "id" TEXT NOT NULL,
    "owner_id" TEXT,
    "purpose" TEXT NOT NULL,
    "media_type" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "storage_key" TEXT NOT NULL,
    "original_name" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stored_files_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" TEXT NOT NULL,
    "actor_id" TEXT,
    "action" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "ip" TEXT,
    "before" JSONB,
    "after" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "stripe_checkouts_payment_intent_id_key" ON "stripe_checkouts"("payment_intent_id");

-- CreateIndex
CREATE INDEX "stripe_checkouts_user_id_created_at_idx" ON "stripe_checkouts"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "money_flags_resolved_at_idx" ON "money_flags"("resolved_at");

-- CreateIndex
CREATE UNIQUE INDEX "money_flags_kind_reference_key" ON "money_flags"("kind", "reference");

-- CreateIndex
CREATE INDEX "manual_top_ups_reference_key_idx" ON "manual_top_ups"("reference_key");

-- CreateIndex
CREATE INDEX "manual_top_ups_status_created_at_idx" ON "manual_top_ups"("status", "created_at");

-- CreateIndex
CREATE INDEX "manual_top_ups_user_id_created_at_idx" ON "manual_top_ups"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "stored_files_storage_key_key" ON "stored_files"("storage_key");

-- CreateIndex
CREATE INDEX "stored_files_owner_id_created_at_idx" ON "stored_files"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_events_action_created_at_idx" ON "audit_events"("action", "created_at");

-- CreateIndex
CREATE INDEX "audit_events_target_type_target_id_idx" ON "audit_events"("target_type", "target_id");

-- CreateIndex
CREATE INDEX "audit_events_actor_id_created_at_idx" ON "audit_events"("actor_id", "created_at");

-- AddForeignKey
ALTER TABLE "manual_top_ups" ADD CONSTRAINT "manual_top_ups_method_id_fkey" FOREIGN KEY ("method_id") REFERENCES "manual_payment_methods"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "manual_top_ups" ADD CONSTRAINT "manual_top_ups_receipt_file_id_fkey" FOREIGN KEY ("receipt_file_id") REFERENCES "stored_files"("id") ON DELETE SET NULL ON UPDATE CASCADE;



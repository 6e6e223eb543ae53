-- AlterTable
ALTER TABLE "generations" ADD COLUMN     "provider_cost" BIGINT;

-- CreateTable
CREATE TABLE "support_grants" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "generation_id" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "support_grants_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "support_grants_user_id_expires_at_idx" ON "support_grants"("user_id", "expires_at");

-- CreateIndex
CREATE INDEX "support_grants_generation_id_idx" ON "support_grants"("generation_id");

-- CreateIndex
CREATE INDEX "support_grants_expires_at_idx" ON "support_grants"("expires_at");

-- AddForeignKey
ALTER TABLE "support_grants" ADD CONSTRAINT "support_grants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "support_grants" ADD CONSTRAINT "support_grants_generation_id_fkey" FOREIGN KEY ("generation_id") REFERENCES "generations"("id") ON DELETE CASCADE ON UPDATE CASCADE;


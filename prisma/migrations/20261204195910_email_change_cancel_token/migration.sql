-- AlterTable
ALTER TABLE "email_verifications" ADD COLUMN     "cancel_token_hash" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "email_verifications_cancel_token_hash_key" ON "email_verifications"("cancel_token_hash");


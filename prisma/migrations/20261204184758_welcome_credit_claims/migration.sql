-- CreateTable
CREATE TABLE "welcome_credit_claims" (
    "mailbox_hash" TEXT NOT NULL,
    "granted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "welcome_credit_claims_pkey" PRIMARY KEY ("mailbox_hash")
);

-- CreateIndex
CREATE INDEX "welcome_credit_claims_granted_at_idx" ON "welcome_credit_claims"("granted_at");


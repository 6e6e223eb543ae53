-- CreateTable
CREATE TABLE "google_signups" (
    "token_hash" TEXT NOT NULL,
    "google_sub" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "google_signups_pkey" PRIMARY KEY ("token_hash")
);

-- CreateIndex
CREATE INDEX "google_signups_google_sub_idx" ON "google_signups"("google_sub");

-- CreateIndex
CREATE INDEX "google_signups_expires_at_idx" ON "google_signups"("expires_at");


-- CreateTable
CREATE TABLE "manual_top_up_approvals" (
    "id" TEXT NOT NULL,
    "top_up_id" TEXT NOT NULL,
    "admin_id" TEXT NOT NULL,
    "credited_amount" BIGINT NOT NULL,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "manual_top_up_approvals_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "manual_top_up_approvals_top_up_id_admin_id_key" ON "manual_top_up_approvals"("top_up_id", "admin_id");

-- AddForeignKey
ALTER TABLE "manual_top_up_approvals" ADD CONSTRAINT "manual_top_up_approvals_top_up_id_fkey" FOREIGN KEY ("top_up_id") REFERENCES "manual_top_ups"("id") ON DELETE CASCADE ON UPDATE CASCADE;


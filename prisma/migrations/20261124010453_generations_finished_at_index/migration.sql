-- CreateIndex
CREATE INDEX "generations_finished_at_idx" ON "generations"("finished_at");


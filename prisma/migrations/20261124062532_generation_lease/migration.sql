-- AlterTable
ALTER TABLE "generations" ADD COLUMN     "lease_until" TIMESTAMPTZ(3);


-- AlterEnum
-- The new value is only added here, never used in the same migration: PostgreSQL refuses to use an enum
-- value in the transaction that added it.
ALTER TYPE "GenerationStatus" ADD VALUE 'partial';

-- AlterTable
ALTER TABLE "generations" ADD COLUMN     "usage_estimated" BOOLEAN NOT NULL DEFAULT false;

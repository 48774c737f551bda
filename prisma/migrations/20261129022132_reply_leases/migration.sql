-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "lease_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "lease_owner" TEXT;

-- CreateIndex
CREATE INDEX "conversations_status_lease_expires_at_idx" ON "conversations"("status", "lease_expires_at");

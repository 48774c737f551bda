-- DropIndex
DROP INDEX "conversations_reply_to_id_created_at_idx";

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "internet" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "search_error_code" TEXT,
ADD COLUMN     "search_error_detail" TEXT,
ADD COLUMN     "search_query" TEXT,
ADD COLUMN     "sources" JSONB;

-- CreateIndex
CREATE INDEX "conversations_reply_to_id_internet_created_at_idx" ON "conversations"("reply_to_id", "internet", "created_at");

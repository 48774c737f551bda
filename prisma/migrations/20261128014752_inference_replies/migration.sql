-- CreateEnum
CREATE TYPE "ReplyStatus" AS ENUM ('streaming', 'complete', 'incomplete', 'failed');

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "completion_tokens" INTEGER,
ADD COLUMN     "error_code" TEXT,
ADD COLUMN     "error_detail" TEXT,
ADD COLUMN     "finish_reason" TEXT,
ADD COLUMN     "prompt_tokens" INTEGER,
ADD COLUMN     "reply_to_id" UUID,
ADD COLUMN     "status" "ReplyStatus",
ADD COLUMN     "total_tokens" INTEGER;

-- CreateIndex
CREATE INDEX "conversations_reply_to_id_created_at_idx" ON "conversations"("reply_to_id", "created_at");

-- AddForeignKey
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_reply_to_id_fkey" FOREIGN KEY ("reply_to_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('Human', 'Assistant');

-- CreateTable
CREATE TABLE "chats" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chats_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversations" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "role" "Role" NOT NULL,
    "chat_id" UUID NOT NULL,
    "message" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "chats_updated_at_id_idx" ON "chats"("updated_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "conversations_seq_key" ON "conversations"("seq");

-- CreateIndex
CREATE INDEX "conversations_chat_id_created_at_seq_idx" ON "conversations"("chat_id", "created_at", "seq");

-- AddForeignKey
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_chat_id_fkey" FOREIGN KEY ("chat_id") REFERENCES "chats"("id") ON DELETE CASCADE ON UPDATE CASCADE;

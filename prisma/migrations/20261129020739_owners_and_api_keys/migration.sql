-- AlterTable: chats made before owners existed belong to the owner anonymous mode uses. The default only
-- fills the existing rows; the application always names the owner.
ALTER TABLE "chats" ADD COLUMN     "owner_id" TEXT NOT NULL DEFAULT 'anonymous';
ALTER TABLE "chats" ALTER COLUMN "owner_id" DROP DEFAULT;

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "secret_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "api_keys_owner_idx" ON "api_keys"("owner");

-- CreateIndex
CREATE INDEX "chats_owner_id_updated_at_id_idx" ON "chats"("owner_id", "updated_at" DESC, "id" DESC);

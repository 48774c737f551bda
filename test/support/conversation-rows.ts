import type { Conversation } from '../../src/generated/prisma/client.ts';

/** Conversation rows as Prisma returns them, for the pure functions that read a chat's history. */
export function conversationRows(...messages: (Partial<Conversation> & Pick<Conversation, 'role' | 'message'>)[]): Conversation[] {
  return messages.map((fields, index) => ({
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    seq: BigInt(index + 1),
    chatId: '00000000-0000-4000-8000-000000000000',
    createdAt: new Date(0),
    updatedAt: new Date(0),
    replyToId: null,
    status: null,
    finishReason: null,
    promptTokens: null,
    completionTokens: null,
    totalTokens: null,
    errorCode: null,
    errorDetail: null,
    internet: false,
    searchQuery: null,
    sources: null,
    searchErrorCode: null,
    searchErrorDetail: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    ...fields,
  }));
}

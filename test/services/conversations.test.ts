import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerCaller } from '../../src/services/caller.ts';
import { CONVERSATION_ORDER, ConversationService } from '../../src/services/conversations.ts';
import { createChatEventBus } from '../../src/services/events.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let service: ConversationService;
beforeAll(async () => {
  database = await createTestDatabase();
  service = new ConversationService(database.prisma, createChatEventBus());
});
afterAll(() => database.dispose());

describe('a page of each chat', () => {
  it('reads whole messages, as Prisma reads them, from the chats the caller may see', async () => {
    const { prisma } = database;
    const chat = await prisma.chat.create({ data: { name: 'full', ownerId: 'ann' } });
    const empty = await prisma.chat.create({ data: { name: 'empty', ownerId: 'ann' } });
    const question = await prisma.conversation.create({ data: { chatId: chat.id, role: 'Human', message: 'Who won?' } });
    // Every column set, of every type: enums, integers, JSON, a bigint, timestamps.
    await prisma.conversation.create({
      data: {
        chatId: chat.id,
        role: 'Assistant',
        message: 'Portugal [1]',
        replyToId: question.id,
        status: 'failed',
        finishReason: 'length',
        promptTokens: 12,
        completionTokens: 34,
        totalTokens: 46,
        errorCode: 'UPSTREAM_TIMEOUT',
        errorDetail: 'no token for 30 s',
        internet: true,
        searchQuery: 'who won',
        sources: [{ index: 1, title: 'Result', url: 'https://example.com', snippet: 'Portugal' }],
        searchErrorCode: 'SEARCH_TIMEOUT',
        searchErrorDetail: 'slow',
        leaseOwner: 'instance-1',
        leaseExpiresAt: new Date('2024-05-06T07:08:09.123Z'),
      },
    });
    const stored = await prisma.conversation.findMany({ where: { chatId: chat.id }, orderBy: CONVERSATION_ORDER });

    const ids = [chat.id, empty.id, chat.id];
    expect(await service.pageOfEachChat(ownerCaller('ann', false), ids, { take: 10 })).toEqual([stored, [], stored]);
    expect(await service.pageOfEachChat(ownerCaller('root', true), ids, { take: -1 })).toEqual([stored.slice(1), [], stored.slice(1)]);
    expect(await service.pageOfEachChat(ownerCaller('bob', false), ids, { take: 10 })).toEqual([[], [], []]);
  });
});

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation, Prisma } from '../../src/generated/prisma/client.ts';
import { buildPrompt, ReplyPrompt } from '../../src/replies/prompt.ts';
import { ANONYMOUS_OWNER } from '../../src/services/caller.ts';
import { CONVERSATION_ORDER } from '../../src/services/conversations.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.dispose();
});

/** The prompt as buildPrompt makes it from every message of the chat up to the question, read whole. */
async function promptFromEveryMessage(question: Conversation, historyChars: number) {
  const history = await database.prisma.conversation.findMany({
    where: { chatId: question.chatId, seq: { lte: question.seq } },
    orderBy: CONVERSATION_ORDER,
  });
  return buildPrompt('Be brief.', history, question, historyChars);
}

describe("the prompt's history, read in SQL", () => {
  it('gives the prompt that every message of the chat gives: latest complete replies only, within the budget', async () => {
    const { id: chatId } = await database.prisma.chat.create({ data: { name: 'history', ownerId: ANONYMOUS_OWNER } });
    let seconds = 0;
    const add = (data: Omit<Prisma.ConversationUncheckedCreateInput, 'chatId' | 'createdAt'>) => {
      seconds += 1;
      return database.prisma.conversation.create({ data: { ...data, chatId, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)) } });
    };
    const q1 = await add({ role: 'Human', message: 'Who won the World Cup in 1986?' });
    await add({ role: 'Assistant', message: 'Argentina (first answer).', replyToId: q1.id, status: 'complete' });
    await add({
      role: 'Assistant',
      message: 'Argentina won [1][2], beating West Germany [3].',
      replyToId: q1.id,
      status: 'complete',
      internet: true,
    });
    await add({ role: 'Assistant', message: 'Argent', replyToId: q1.id, status: 'failed' });
    await add({ role: 'Assistant', message: 'A message a client wrote.' });
    const q2 = await add({ role: 'Human', message: 'and in 1990? '.repeat(20) });
    for (let regenerated = 0; regenerated < 5; regenerated += 1) {
      await add({ role: 'Assistant', message: `West Germany, take ${regenerated}. `.repeat(10), replyToId: q2.id, status: 'complete' });
    }
    await add({ role: 'Assistant', message: 'cut off', replyToId: q2.id, status: 'incomplete' });
    const q3 = await add({ role: 'Human', message: 'And in 1994?' });
    // A reply to an earlier message written after the question is not part of its history.
    await add({ role: 'Assistant', message: 'Late answer.', replyToId: q1.id, status: 'complete' });

    // Every budget from nothing to all of it, in steps shorter than any message: each cut is tried.
    for (let historyChars = 1; historyChars <= 1_200; historyChars += 9) {
      const prompt = new ReplyPrompt(q3, null, {
        prisma: database.prisma,
        config: { systemPrompt: 'Be brief.', historyChars },
        logger: pino({ level: 'silent' }),
      });
      const { messages } = await prompt.prepare(AbortSignal.timeout(5_000));
      expect(messages, `historyChars ${historyChars}`).toEqual(await promptFromEveryMessage(q3, historyChars));
    }
  });

  it("searches a follow-up with the questions before it, even those the prompt's budget does not reach", async () => {
    const { id: chatId } = await database.prisma.chat.create({ data: { name: 'follow-up', ownerId: ANONYMOUS_OWNER } });
    const asked = await database.prisma.conversation.create({ data: { chatId, role: 'Human', message: 'Who founded Tesla Motors?' } });
    await database.prisma.conversation.create({
      data: {
        chatId,
        role: 'Assistant',
        message: 'Martin Eberhard and Marc Tarpenning. '.repeat(8),
        replyToId: asked.id,
        status: 'complete',
      },
    });
    const followUp = await database.prisma.conversation.create({ data: { chatId, role: 'Human', message: 'and when was it founded?' } });
    const queries: string[] = [];
    const search = {
      search: async (query: string) => {
        queries.push(query);
        return [{ index: 1, title: 'Tesla', url: 'https://tesla.test', snippet: 'Founded in 2003.' }];
      },
      close: () => {},
    };
    const prompt = new ReplyPrompt(followUp, search, {
      prisma: database.prisma,
      config: { systemPrompt: 'Be brief.', historyChars: 200 },
      logger: pino({ level: 'silent' }),
    });
    const { messages } = await prompt.prepare(AbortSignal.timeout(5_000));
    expect(queries).toEqual(['Who founded Tesla Motors? and when was it founded?']);
    // The prompt itself keeps to its budget: the long answer and the question before it are left out.
    expect(messages.map((message) => message.role)).toEqual(['system', 'user']);
  });
});

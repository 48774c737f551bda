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
});

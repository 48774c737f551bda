/**
 * Single flight, with a fake model the test drives token by token: however many listeners ask at
 * once, one generation per message and kind runs, and every listener sees the same reply.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { Limits } from '../../src/limits/limits.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import type { InferenceEvent } from '../../src/replies/events.ts';
import { ReplyService } from '../../src/replies/service.ts';
import { anonymousCaller } from '../../src/services/caller.ts';
import { createChatEventBus } from '../../src/services/events.ts';
import type { ChatMessage, ChatModel, ModelDelta } from '../../src/upstream/model.ts';
import { createTestDatabase, TEST_STORE, type TestDatabase } from '../support/database.ts';

const caller = anonymousCaller('test');

/** A model whose streams the test feeds: `send` a token to every open stream, `finish` them. */
function fakeModel() {
  const streams: { messages: ChatMessage[]; push(delta: ModelDelta | null): void }[] = [];
  const model: ChatModel = {
    async *stream(messages, signal) {
      const queue: (ModelDelta | null)[] = [];
      let wake: (() => void) | undefined;
      streams.push({
        messages,
        push: (delta) => {
          queue.push(delta);
          wake?.();
        },
      });
      for (;;) {
        signal.throwIfAborted();
        const next = queue.shift();
        if (next === null) return;
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
  const all = (delta: ModelDelta | null) => {
    for (const stream of streams) stream.push(delta);
  };
  return {
    model,
    streams,
    send: (text: string) => all({ kind: 'text', text }),
    finish: () => {
      all({ kind: 'finish', reason: 'stop' });
      all(null);
    },
  };
}

async function drain(events: AsyncIterable<InferenceEvent>): Promise<InferenceEvent[]> {
  const received: InferenceEvent[] = [];
  for await (const event of events) received.push(event);
  return received;
}

let database: TestDatabase;
let fake: ReturnType<typeof fakeModel>;
let replies: ReplyService;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = fakeModel();
  const config = loadConfig({ INFERENCE_SAVE_INTERVAL_MS: '50', INFERENCE_LEASE_MS: '1000' });
  replies = new ReplyService({
    prisma: database.prisma,
    model: fake.model,
    search: null,
    config: config.inference,
    events: createChatEventBus(),
    limits: new Limits(config.limits, pino({ level: 'silent' })),
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    embeddedDatabase: TEST_STORE === 'pglite',
  });
});

afterAll(async () => {
  await replies.shutdown(1_000);
  await database.dispose();
});

async function newQuestion(): Promise<string> {
  const chat = await database.prisma.chat.create({ data: { name: 'single flight', ownerId: caller.owner } });
  return (await database.prisma.conversation.create({ data: { chatId: chat.id, role: 'Human', message: 'Hello?' } })).id;
}

describe('single flight', () => {
  it('runs one generation for ten listeners asking at once; all of them get the same events', async () => {
    const id = await newQuestion();
    const before = fake.streams.length;
    const listeners = await Promise.all(Array.from({ length: 10 }, () => replies.open(id, { caller })));
    // A regenerate while one is running joins it too: never two generations of one message.
    listeners.push(await replies.open(id, { caller, regenerate: true }));
    await expect.poll(() => fake.streams.length).toBe(before + 1);
    fake.send('Hi');
    fake.send(' there');
    fake.finish();
    const received = await Promise.all(listeners.map((listener) => drain(listener!)));
    expect(fake.streams.length).toBe(before + 1);
    const texts = received.map((events) =>
      events
        .filter((event) => event.type === 'token')
        .map((event) => event.text)
        .join(''),
    );
    expect(new Set(texts)).toEqual(new Set(['Hi there']));
    const finals = received.map((events) => events.at(-1)!);
    expect(new Set(finals.map((event) => event.type))).toEqual(new Set(['done']));
    expect(new Set(listeners.map((listener) => listener!.replyId)).size).toBe(1);
    expect(await database.prisma.conversation.count({ where: { replyToId: id } })).toBe(1);
  });

  it('replays a finished reply without asking the model, and generates anew only on regenerate', async () => {
    const id = await newQuestion();
    const before = fake.streams.length;
    const first = replies.open(id, { caller });
    await expect.poll(() => fake.streams.length).toBe(before + 1);
    fake.send('Stored');
    fake.finish();
    await drain((await first)!);

    const replayed = await drain((await replies.open(id, { caller }))!);
    expect(replayed.map((event) => event.type)).toEqual(['token', 'done']);
    expect(fake.streams.length).toBe(before + 1);

    const again = replies.open(id, { caller, regenerate: true });
    await expect.poll(() => fake.streams.length).toBe(before + 2);
    fake.send('New');
    fake.finish();
    const regenerated = await drain((await again)!);
    expect(
      regenerated
        .filter((event) => event.type === 'token')
        .map((event) => event.text)
        .join(''),
    ).toBe('New');
    expect(await database.prisma.conversation.count({ where: { replyToId: id } })).toBe(2);
  });
});

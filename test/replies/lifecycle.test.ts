/**
 * What a reconnect gets in each state of a reply (README "Reply lifecycle"): event ids name one reply,
 * a resume continues that reply and nothing else, a reply cut off is settled and answered with its
 * stored text and a final error (never a 409, never a bare 204).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit, type TestApp } from '../support/app.ts';
import { readSse, type SseEvent, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

let tgi: TgiStandin;
let app: TestApp;

beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
  app = await createTestApp({
    TGI_URL: tgi.url,
    INFERENCE_GRACE_MS: '2000',
    INFERENCE_SAVE_INTERVAL_MS: '50',
    INFERENCE_LEASE_MS: '300',
  });
});
afterAll(async () => {
  await app.close();
  await tgi.close();
});

async function question(): Promise<string> {
  const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'lifecycle' }))).json();
  const asked = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hi?' }));
  return (await asked.json()).id;
}

const infer = (id: string, lastEventId?: string, query = '') =>
  app.request(`/conversations/inference/${id}${query}`, lastEventId ? { headers: { 'last-event-id': lastEventId } } : {});

async function readSome(response: Response, count: number): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(response)) {
    events.push(event);
    if (events.length === count) break;
  }
  return events;
}

/** A reply row as another process (alive or dead) would have left it. */
async function storedReply(questionId: string, fields: { message: string; leaseOwner: string; leaseMs: number }) {
  const asked = await app.database.prisma.conversation.findUniqueOrThrow({ where: { id: questionId } });
  const id = crypto.randomUUID();
  await app.database.prisma.$executeRaw`
    INSERT INTO conversations (id, role, chat_id, message, reply_to_id, status, lease_owner, lease_expires_at)
    VALUES (${id}::uuid, 'Assistant', ${asked.chatId}::uuid, ${fields.message}, ${questionId}::uuid, 'streaming',
            ${fields.leaseOwner}, now() + ${`${fields.leaseMs} milliseconds`}::interval)`;
  return id;
}

const row = (id: string) => app.database.prisma.conversation.findUniqueOrThrow({ where: { id } });

describe('a resume continues the reply it holds', () => {
  it('never splices a regenerated reply onto the one the client holds', async () => {
    const id = await question();
    tgi.script({ kind: 'tokens', tokens: ['first', ' reply', ' here'] });
    const first = await readSse(await infer(id));
    const firstReply = (first.at(-1)!.data.conversation as { id: string }).id;
    const finalId = first.at(-1)!.id;
    const middleId = first[0]!.id;

    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 50 }, (_, i) => `second${i} `), pacing: { intervalMs: 20 } });
    const second = await readSome(await infer(id, undefined, '?regenerate=true'), 2);
    expect(second[0]!.id.split('.')[0]).not.toBe(firstReply);

    // The client that had all of reply 1 is told so, while reply 2 streams.
    expect((await infer(id, finalId)).status).toBe(204);
    // A client in the middle of reply 1 gets the rest of reply 1, from the store.
    const rest = await readSse(await infer(id, middleId));
    expect(tokensOf(first.slice(0, 1)) + tokensOf(rest)).toBe('first reply here');
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { conversation: { id: firstReply } } });
    expect(rest.every((event) => event.id.startsWith(`${firstReply}.`))).toBe(true);
  });

  it('refuses an id that is not ours, or that names a reply to another message, with 422', async () => {
    const id = await question();
    const other = await question();
    tgi.script({ kind: 'tokens', tokens: ['x'] });
    const otherReply = (await readSse(await infer(other))).at(-1)!.id;
    for (const lastEventId of ['30', 'abc', `${crypto.randomUUID()}.x`, otherReply]) {
      const response = await infer(id, lastEventId);
      expect(response.status, lastEventId).toBe(422);
      expect((await response.json()).code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('a reply cut off', () => {
  it('is settled by the sweep when its lease lapses, with nobody asking', async () => {
    const id = await question();
    const reply = await storedReply(id, { message: 'partial', leaseOwner: 'a-dead-process', leaseMs: 100 });
    await expect.poll(async () => (await row(reply)).status, { timeout: 5_000 }).toBe('incomplete');
    expect(await row(reply)).toMatchObject({ message: 'partial', errorCode: 'INTERRUPTED', leaseOwner: null });
  });

  it.each([
    ['behind the stored text', 3, 'tial'],
    ['ahead of the stored text (it saw tokens the store never got)', 12, ''],
  ])('answers a reconnect %s with what is missing and a final INTERRUPTED error, then 204', async (_case, position, missing) => {
    const id = await question();
    const reply = await storedReply(id, { message: 'partial', leaseOwner: 'a-dead-process', leaseMs: -1 });
    const events = await readSse(await infer(id, `${reply}.${position}`));
    expect(tokensOf(events)).toBe(missing);
    expect(events.at(-1)).toMatchObject({ event: 'error', id: `${reply}.8`, data: { code: 'INTERRUPTED' } });
    expect((await infer(id, events.at(-1)!.id)).status).toBe(204);
    // A new listener (no Last-Event-ID) gets a new reply.
    tgi.script({ kind: 'tokens', tokens: ['fresh'] });
    expect(tokensOf(await readSse(await infer(id)))).toBe('fresh');
  });
});

describe('a reply another process is generating', () => {
  it('is followed through the store, not generated again and not refused', async () => {
    const id = await question();
    const reply = await storedReply(id, { message: 'So', leaseOwner: 'another-instance', leaseMs: 60_000 });
    const before = tgi.requests.length;
    const following = sseEvents(await infer(id));
    const first = await following.next();
    expect(first.value).toMatchObject({ event: 'message', id: `${reply}.2`, text: 'So' });
    // The other process saves more, then finishes.
    await app.database.prisma.conversation.update({ where: { id: reply }, data: { message: 'So far' } });
    const second = await following.next();
    expect(second.value).toMatchObject({ event: 'message', text: ' far' });
    await app.database.prisma.conversation.update({
      where: { id: reply },
      data: { message: 'So far so good', status: 'complete', leaseOwner: null, leaseExpiresAt: null },
    });
    const rest: SseEvent[] = [];
    for (let next = await following.next(); !next.done; next = await following.next()) rest.push(next.value);
    expect(tokensOf(rest)).toBe(' so good');
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { conversation: { id: reply, message: 'So far so good' } } });
    expect(tgi.requests.length).toBe(before);
  });
});

describe('a chat deleted while its reply streams', () => {
  it('ends the stream with NOT_FOUND and frees the generation (no endless final save)', async () => {
    const id = await question();
    const asked = await app.database.prisma.conversation.findUniqueOrThrow({ where: { id } });
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 30 }, (_, i) => `d${i} `), pacing: { intervalMs: 20 } });
    const events = sseEvents(await infer(id));
    await events.next();
    expect((await app.request(`/chats/delete/${asked.chatId}`, { method: 'DELETE' })).status).toBe(200);
    const rest: SseEvent[] = [];
    for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
    expect(rest.at(-1)).toMatchObject({ event: 'error', data: { code: 'NOT_FOUND' } });
  });
});

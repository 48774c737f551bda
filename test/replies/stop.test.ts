/**
 * Stopping a generation in one process (no Redis): `POST /conversations/stop/<id>` and GraphQL
 * `stopGeneration` abort the upstream request, store the reply incomplete with STOPPED and end every
 * listener's stream; with nothing running they answer the latest reply as it is; owners stop only
 * their own chats' generations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, postGraphQL, type TestApp } from '../support/app.ts';
import { readSse, type SseEvent, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const ADMIN_KEY = 'stop-test-admin-key-0123456789abcdefghij';

let tgi: TgiStandin;
let app: TestApp;
let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
  app = await createTestApp({ AUTH: 'required', ADMIN_API_KEY: ADMIN_KEY, TGI_URL: tgi.url, INFERENCE_GRACE_MS: '5000' });
  const keyFor = async (owner: string) =>
    bearer(
      (await postGraphQL(app, 'mutation($o: String!) { createApiKey(owner: $o) { key } }', { o: owner }, bearer(ADMIN_KEY))).data!
        .createApiKey.key,
    );
  [alice, bob] = await Promise.all([keyFor('alice'), keyFor('bob')]);
});
afterAll(async () => {
  await app.close();
  await tgi.close();
});

async function question(): Promise<string> {
  const send = (path: string, body: unknown) =>
    app.request(path, { method: 'POST', headers: { ...alice, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const chat = await (await send('/chats/create', { name: 'stop' })).json();
  return (await (await send('/conversations/create', { chat_id: chat.id, role: 'Human', message: 'Long story?' })).json()).id;
}

const stop = (id: string, who: Record<string, string>, query = '') =>
  app.request(`/conversations/stop/${id}${query}`, { method: 'POST', headers: who });

async function firstToken(events: AsyncGenerator<SseEvent>): Promise<SseEvent> {
  for (let next = await events.next(); !next.done; next = await events.next()) if (next.value.event === 'message') return next.value;
  throw new Error('the stream ended before a token');
}

async function remaining(events: AsyncGenerator<SseEvent>): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for (let next = await events.next(); !next.done; next = await events.next()) seen.push(next.value);
  return seen;
}

describe('stopping a running generation', () => {
  it('aborts upstream, stores the reply incomplete with STOPPED, and ends every listener with that error', async () => {
    const id = await question();
    const index = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 500 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const first = sseEvents(await app.request(`/conversations/inference/${id}`, { headers: alice }));
    const token = await firstToken(first);
    const second = sseEvents(await app.request(`/conversations/inference/${id}`, { headers: alice }));
    await firstToken(second);

    // Another owner cannot stop it, nor learn that it exists.
    expect((await stop(id, bob)).status).toBe(404);

    const response = await stop(id, alice);
    expect(response.status).toBe(200);
    const reply = await response.json();
    expect(reply).toMatchObject({ id: token.id.split('.')[0], status: 'incomplete', error: { code: 'STOPPED' } });
    for (const events of [await remaining(first), await remaining(second)]) {
      expect(events.at(-1)).toMatchObject({ event: 'error', position: reply.message.length + 1, data: { code: 'STOPPED' } });
    }
    expect(await tgi.waitForClientClose(index)).toMatchObject({ clientClosed: true });
    expect(await app.database.prisma.conversation.findUnique({ where: { id: reply.id } })).toMatchObject({
      status: 'incomplete',
      errorCode: 'STOPPED',
      message: reply.message,
    });

    // A new listener gets a new reply (a stopped one is not replayed).
    tgi.script({ kind: 'tokens', tokens: ['fresh'] });
    expect(tokensOf(await readSse(await app.request(`/conversations/inference/${id}`, { headers: alice })))).toBe('fresh');
  });

  it('stopGeneration stops it through GraphQL, by the chat id too', async () => {
    const id = await question();
    const { chatId } = await app.database.prisma.conversation.findUniqueOrThrow({ where: { id } });
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 500 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const listening = sseEvents(await app.request(`/conversations/inference/${id}`, { headers: alice }));
    await firstToken(listening);
    const result = await postGraphQL(
      app,
      'mutation($id: ID!) { stopGeneration(conversationId: $id) { status errorCode replyTo { id } } }',
      { id: chatId },
      alice,
    );
    expect(result.data?.stopGeneration).toEqual({ status: 'INCOMPLETE', errorCode: 'STOPPED', replyTo: { id } });
    expect((await remaining(listening)).at(-1)).toMatchObject({ event: 'error', data: { code: 'STOPPED' } });
  });
});

describe('with nothing running', () => {
  it('answers the latest reply unchanged, null before any, 404 for an unknown id, 422 for an Assistant message', async () => {
    const id = await question();
    const none = await stop(id, alice);
    expect(none.status).toBe(200);
    expect(await none.json()).toBeNull();

    tgi.script({ kind: 'tokens', tokens: ['done', ' here'] });
    const done = (await readSse(await app.request(`/conversations/inference/${id}`, { headers: alice }))).at(-1)!;
    const stored = done.data.conversation as { id: string };
    const unchanged = await stop(id, alice);
    expect(unchanged.status).toBe(200);
    expect(await unchanged.json()).toEqual(stored);
    expect(
      (await postGraphQL(app, 'mutation($id: ID!) { stopGeneration(conversationId: $id) { id status } }', { id }, alice)).data,
    ).toEqual({
      stopGeneration: { id: stored.id, status: 'COMPLETE' },
    });
    // The internet answer is another reply: none yet.
    expect(await (await stop(id, alice, '?internet=true')).json()).toBeNull();

    const unknown = await stop(crypto.randomUUID(), alice);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe('NOT_FOUND');
    const assistant = await stop(stored.id, alice);
    expect(assistant.status).toBe(422);
    expect((await assistant.json()).code).toBe('VALIDATION_FAILED');
  });
});

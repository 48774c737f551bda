/**
 * Several gateway processes on one PostgreSQL schema and one private Redis (README "Running several
 * instances"): one upstream generation per message whichever instances its listeners reach, resume and
 * stop from any instance, chat events and the search cache across instances, and what an instance
 * killed with SIGKILL, one stopped with SIGTERM, or a Redis restart does to running streams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterGateway, type GatewayCluster, startGatewayCluster } from '../support/gateway-cluster.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';
import { defaultPage, type SerpApiStandin, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { readSse, type SseEvent, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

let redis: PrivateRedis;
let tgi: TgiStandin;
let serp: SerpApiStandin;
let cluster: GatewayCluster;
let a: ClusterGateway;
let b: ClusterGateway;
let c: ClusterGateway;

beforeAll(async () => {
  [redis, tgi, serp] = await Promise.all([startPrivateRedis(), startTgiStandin({ keepAliveMs: 0 }), startSerpApiStandin()]);
  cluster = await startGatewayCluster(3, {
    TGI_URL: tgi.url,
    REDIS_URL: redis.url,
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
    INFERENCE_SAVE_INTERVAL_MS: '100',
    INFERENCE_LEASE_MS: '1000',
    INFERENCE_GRACE_MS: '3000',
    SHUTDOWN_TIMEOUT_MS: '5000',
  });
  [a, b, c] = cluster.gateways as [ClusterGateway, ClusterGateway, ClusterGateway];
});

afterAll(async () => {
  await cluster?.close();
  await Promise.all([redis?.close(), tgi?.close(), serp?.close()]);
});

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function question(gateway: ClusterGateway, message = 'Tell me a story?'): Promise<string> {
  const chat = await (await gateway.request('/chats/create', json('POST', { name: 'scale-out' }))).json();
  const asked = await gateway.request('/conversations/create', json('POST', { chat_id: chat.id, role: 'Human', message }));
  return (await asked.json()).id;
}

const infer = (gateway: ClusterGateway, id: string, lastEventId?: string, route = 'inference') =>
  gateway.request(`/conversations/${route}/${id}`, lastEventId ? { headers: { 'last-event-id': lastEventId } } : {});

/** A reply long enough to still be streaming while a test acts on it. */
function slowReply(count: number, intervalMs = 50): string {
  const tokens = Array.from({ length: count }, (_, i) => `w${i} `);
  tgi.script({ kind: 'tokens', tokens, pacing: { intervalMs } });
  return tokens.join('');
}

/** Reads events until `count` tokens arrived (or the end); the stream stays open for the rest. */
async function untilTokens(events: AsyncGenerator<SseEvent>, count: number): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  // Not `for await`: breaking out of it would hang up.
  for (let next = await events.next(); !next.done; next = await events.next()) {
    seen.push(next.value);
    if (seen.filter((e) => e.event === 'message').length >= count || next.value.event === 'done' || next.value.event === 'error') break;
  }
  return seen;
}

/** Every remaining event, until the server ends the stream. */
async function rest(events: AsyncGenerator<SseEvent>): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for await (const event of { [Symbol.asyncIterator]: () => events }) seen.push(event);
  return seen;
}

/** Positions only grow: no event repeats text another one had. */
function expectIncreasing(events: SseEvent[]) {
  const positions = events.filter((event) => event.event === 'message').map((event) => event.position);
  expect(positions).toEqual([...new Set(positions)].sort((x, y) => x - y));
}

const row = (id: string) => cluster.database.prisma.conversation.findUniqueOrThrow({ where: { id } });
const replyIdOf = (event: SseEvent) => event.id.split('.')[0]!;

describe('one generation, any instance', () => {
  it('listeners of one message arriving on three instances before its reply is stored share one upstream request and receive identical text', async () => {
    const id = await question(a);
    const before = tgi.requests.length;
    const text = slowReply(30, 20);
    // Writes to the table wait while every listener arrives: each instance finds no reply stored, and
    // only the flight lock in Redis keeps them from starting one each.
    const streams = await cluster.database.withSession(async (session) => {
      await session.exec('BEGIN; LOCK TABLE conversations IN SHARE MODE');
      try {
        const opening = [a, b, c, a, b, c].map((gateway) => infer(gateway, id));
        await new Promise((resolve) => setTimeout(resolve, 500));
        return opening;
      } finally {
        await session.exec('COMMIT');
      }
    });
    const received = await Promise.all(streams.map(async (response) => readSse(await response)));
    for (const events of received) {
      expect(tokensOf(events)).toBe(text);
      expectIncreasing(events);
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { conversation: { status: 'complete', message: text } } });
    }
    expect(new Set(received.map((events) => replyIdOf(events.at(-1)!))).size).toBe(1);
    expect(tgi.requests.length - before).toBe(1);
  });

  it('a listener that leaves one instance resumes on another with no gap and no duplicate; a late joiner elsewhere gets it all', async () => {
    const id = await question(a);
    const text = slowReply(40, 30);
    const first = await untilTokens(sseEvents(await infer(a, id)), 5);
    const resumed = await readSse(await infer(b, id, first.at(-1)!.id));
    expect(tokensOf(first) + tokensOf(resumed)).toBe(text);
    expectIncreasing([...first, ...resumed]);
    expect(resumed.at(-1)).toMatchObject({ event: 'done' });
    // Joined while the stream was still retained in Redis: everything from the start.
    const late = await readSse(await infer(c, id));
    expect(tokensOf(late)).toBe(text);
  });
});

describe('stop', () => {
  it('POST /conversations/stop/<id> on one instance stops the generation running on another', async () => {
    const id = await question(a);
    const index = tgi.requests.length;
    slowReply(200);
    const listening = sseEvents(await infer(a, id));
    const seen = await untilTokens(listening, 3);
    const started = performance.now();
    const stopped = await b.request(`/conversations/stop/${id}`, { method: 'POST' });
    console.info(`stop across instances answered in ${Math.round(performance.now() - started)} ms`);
    expect(stopped.status).toBe(200);
    const reply = await stopped.json();
    expect(reply).toMatchObject({ id: replyIdOf(seen[0]!), status: 'incomplete', error: { code: 'STOPPED' } });
    const after = await rest(listening);
    expect(after.at(-1)).toMatchObject({ event: 'error', data: { code: 'STOPPED' } });
    expect(tokensOf([...seen, ...after])).toBe(reply.message);
    expect(await tgi.waitForClientClose(index)).toMatchObject({ clientClosed: true });
    expect(await row(reply.id)).toMatchObject({ status: 'incomplete', errorCode: 'STOPPED', message: reply.message });

    // Nothing runs now: the latest reply, unchanged.
    const again = await c.request(`/conversations/stop/${id}`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: reply.id, status: 'incomplete', message: reply.message });
    const unknown = await c.request(`/conversations/stop/${crypto.randomUUID()}`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe('NOT_FOUND');
  });

  it('stopGeneration on one instance stops a generation followed from a third one', async () => {
    const id = await question(a);
    slowReply(200);
    const follower = sseEvents(await infer(c, id));
    const generator = sseEvents(await infer(a, id));
    await untilTokens(follower, 2);
    const response = await b.request(
      '/graphql',
      json('POST', {
        query: 'mutation Stop($id: ID!) { stopGeneration(conversationId: $id) { id status errorCode message } }',
        variables: { id },
      }),
    );
    const { data } = await response.json();
    expect(data.stopGeneration).toMatchObject({ status: 'INCOMPLETE', errorCode: 'STOPPED' });
    for (const events of [await rest(follower), await rest(generator)]) {
      expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'STOPPED' } });
    }
  });
});

describe('shared state', () => {
  it('chatEvents on one instance sees what happens on another', async () => {
    const response = await b.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { chatEvents { type chatId } }' }),
    });
    const events = sseEvents(response);
    const next = events.next();
    // The subscription is live once Yoga has subscribed: create chats until one is seen (bounded).
    const created: string[] = [];
    let event: IteratorResult<SseEvent> | undefined;
    for (let attempt = 0; attempt < 50 && !event; attempt += 1) {
      created.push((await (await a.request('/chats/create', json('POST', { name: `seen elsewhere ${attempt}` }))).json()).id);
      event = await Promise.race([next, new Promise<undefined>((resolve) => setTimeout(resolve, 200))]);
    }
    expect(event?.value.data).toMatchObject({ data: { chatEvents: { type: 'CHAT_CREATED' } } });
    expect(created).toContain((event!.value.data as { data: { chatEvents: { chatId: string } } }).data.chatEvents.chatId);
    await events.return(undefined);
  });

  it('the same web search asked on two instances at once costs one SerpAPI search', async () => {
    const message = 'Who won the World Cup in 1990?';
    const [first, second] = await Promise.all([question(a, message), question(b, message)]);
    const before = serp.requests.length;
    serp.script({ kind: 'results', delayMs: 500, ...defaultPage(message) });
    const answers = await Promise.all([
      readSse(await infer(a, first, undefined, 'inference_internet')),
      readSse(await infer(b, second, undefined, 'inference_internet')),
    ]);
    for (const events of answers) expect(events[0]).toMatchObject({ event: 'sources', data: { error: null } });
    expect(serp.requests.length - before).toBe(1);
  });
});

describe('faults', () => {
  it('an instance killed with SIGKILL mid-stream: listeners elsewhere get the stored text and a final error; a new listener generates again', async () => {
    const doomed = await cluster.start();
    const id = await question(a);
    slowReply(200);
    const generating = sseEvents(await infer(doomed, id));
    await untilTokens(generating, 2);
    const following = sseEvents(await infer(b, id));
    const seen = await untilTokens(following, 2);
    await doomed.kill('SIGKILL');
    const after = await rest(following);
    const final = after.at(-1)!;
    expect(final).toMatchObject({ event: 'error', data: { code: 'INTERRUPTED' } });
    const stored = await row(replyIdOf(final));
    expect(stored).toMatchObject({ status: 'incomplete', errorCode: 'INTERRUPTED' });
    expect(tokensOf([...seen, ...after]).startsWith(stored.message)).toBe(true);
    expect(await cluster.database.prisma.conversation.count({ where: { status: 'streaming' } })).toBe(0);

    const before = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: ['again'] });
    const fresh = await readSse(await infer(c, id));
    expect(fresh.at(-1)).toMatchObject({ event: 'done', data: { conversation: { message: 'again' } } });
    expect(tgi.requests.length - before).toBe(1);
  });

  it('Redis restarted mid-stream: running streams finish on every instance, /healthz says degraded and a remote stop is refused meanwhile, and the gateway reconnects', async () => {
    const id = await question(a);
    const text = slowReply(80);
    const here = sseEvents(await infer(a, id));
    await untilTokens(here, 2);
    const elsewhere = sseEvents(await infer(b, id));
    const seenElsewhere = await untilTokens(elsewhere, 2);
    await redis.stop();
    const health = await (await a.request('/healthz')).json();
    expect(health).toEqual({ status: 'degraded', redis: 'unavailable' });
    // What cannot work without Redis is refused, clearly: reaching the instance that generates it.
    const refused = await b.request(`/conversations/stop/${id}`, { method: 'POST' });
    expect(refused.status).toBe(503);
    expect((await refused.json()).code).toBe('REDIS_UNAVAILABLE');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.start();
    const [restHere, restElsewhere] = await Promise.all([rest(here), rest(elsewhere)]);
    expect(restHere.at(-1)).toMatchObject({ event: 'done' });
    const all = [...seenElsewhere, ...restElsewhere];
    expect(tokensOf(all)).toBe(text);
    expectIncreasing(all);
    expect(all.at(-1)).toMatchObject({ event: 'done', data: { conversation: { message: text } } });
    await expect.poll(async () => (await (await b.request('/healthz')).json()).status, { timeout: 10_000 }).toBe('ok');

    // Back to sharing: a new message heard on two instances is generated once.
    const next = await question(a);
    const before = tgi.requests.length;
    slowReply(10, 20);
    const both = await Promise.all([infer(a, next), infer(c, next)]);
    await Promise.all(both.map(readSse));
    expect(tgi.requests.length - before).toBe(1);
  });

  it('SIGTERM drains one instance: its generations are stored as they stand, its listeners of other generations resume elsewhere', async () => {
    const draining = await cluster.start();
    const [local, remote] = await Promise.all([question(a), question(a)]);
    slowReply(200);
    // A generation on the draining instance, followed from b.
    const generatedThere = sseEvents(await infer(draining, local));
    await untilTokens(generatedThere, 2);
    const followedFromB = sseEvents(await infer(b, local));
    await untilTokens(followedFromB, 1);
    // A generation on b, followed from the draining instance.
    const remoteText = slowReply(60);
    const generatedOnB = sseEvents(await infer(b, remote));
    await untilTokens(generatedOnB, 2);
    const followedThere = sseEvents(await infer(draining, remote));
    const seenThere = await untilTokens(followedThere, 2);

    const exit = draining.kill('SIGTERM');
    const told = await rest(followedThere);
    expect(told.at(-1)).toMatchObject({ event: 'error', data: { code: 'SHUTDOWN' } });
    const resumed = await readSse(await infer(c, remote, told.at(-1)!.id));
    expect(tokensOf([...seenThere, ...told, ...resumed])).toBe(remoteText);
    expect(resumed.at(-1)).toMatchObject({ event: 'done' });

    expect((await rest(followedFromB)).at(-1)).toMatchObject({ event: 'error', data: { code: 'SHUTDOWN' } });
    expect((await rest(generatedThere)).at(-1)).toMatchObject({ event: 'error', data: { code: 'SHUTDOWN' } });
    expect(await exit).toBe(0);
    const [stored] = await cluster.database.prisma.conversation.findMany({ where: { replyToId: local } });
    expect(stored).toMatchObject({ status: 'incomplete', errorCode: 'SHUTDOWN' });
  });

  it('rate limits count across instances: a client gets one allowance, not one per instance', async () => {
    // A key prefix of their own: these two count only each other's requests.
    const shared = { REDIS_KEY_PREFIX: 'limits-shared', LIMIT_REQUESTS_PER_MINUTE: '4' };
    const [d, e] = await Promise.all([cluster.start(shared), cluster.start(shared)]);
    const statuses = [];
    for (const gateway of [d, e, d, e, e, d]) statuses.push((await gateway.request('/chats/')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    await Promise.all([d.kill('SIGKILL'), e.kill('SIGKILL')]);
  });
});

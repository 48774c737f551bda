/**
 * The limits as clients meet them: REST (429 with Retry-After and RateLimit-*), GraphQL (the code
 * RATE_LIMITED), with the TGI and SerpAPI stand-ins counting what reaches the paid upstreams. Each
 * describe has a gateway of its own, with only the limit it is about set low.
 */
import { request as httpRequest } from 'node:http';
import { setImmediate as macrotask } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit, listen, type TestApp } from '../support/app.ts';
import { type SerpApiStandin, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { readSse, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

let tgi: TgiStandin;
let serp: SerpApiStandin;
const gateways: TestApp[] = [];
const servers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  [tgi, serp] = await Promise.all([startTgiStandin({ keepAliveMs: 0 }), startSerpApiStandin()]);
  tgi.setDefault({ kind: 'tokens', tokens: ['Plankton', ' and', ' whales.'] });
});

afterAll(async () => {
  for (const server of servers) await server.close();
  for (const gateway of gateways) await gateway.close();
  await Promise.all([tgi?.close(), serp?.close()]);
});

/** A gateway on the stand-ins with `limits` set (the others at their defaults). */
async function gateway(limits: Record<string, string>): Promise<TestApp> {
  const app = await createTestApp({
    TGI_URL: tgi.url,
    INFERENCE_GRACE_MS: '100',
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
    ...limits,
  });
  gateways.push(app);
  return app;
}

async function served(app: TestApp): Promise<string> {
  const server = await listen(app);
  servers.push(server);
  return server.url;
}

async function post<T>(app: TestApp, path: string, body: unknown): Promise<T> {
  const response = await app.request(path, jsonInit('POST', body));
  expect(response.status).toBe(201);
  return response.json() as Promise<T>;
}

/** A new chat with one Human message; its id. */
async function question(app: TestApp, message = 'What lives in the sea?'): Promise<string> {
  const chat = await post<{ id: string }>(app, '/chats/create', { name: 'limits' });
  return (await post<{ id: string }>(app, '/conversations/create', { chat_id: chat.id, role: 'Human', message })).id;
}

const infer = (app: TestApp, id: string, query = '', init: RequestInit = {}) => app.request(`/conversations/inference/${id}${query}`, init);

const replies = (app: TestApp, questionId: string) => app.database.prisma.conversation.count({ where: { replyToId: questionId } });

/** Asserts a REST refusal: 429, the code, a detail naming the limit, and the headers of that limit. */
async function expectRefused(response: Response, limit: number, detail: RegExp) {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  expect(await response.json()).toEqual({ code: 'RATE_LIMITED', detail: expect.stringMatching(detail) });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(response.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(response.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(response.headers.get('ratelimit-reset'))).toBe(retryAfter);
  return retryAfter;
}

/** Sends a request to the gateway, in-process or over a socket: each is a client (a limit key) of its own. */
type Send = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * The error codes a GraphQL subscription (over SSE, Yoga's distinct-connections mode) ended with,
 * once it completed: none when it streamed without error.
 */
async function subscriptionErrorCodes(send: Send, query: string, variables: Record<string, unknown> = {}) {
  const response = await send('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  const results: { errors?: { extensions?: { code?: string } }[] }[] = [];
  const parser = createParser({ onEvent: ({ event, data }) => event === 'next' && results.push(JSON.parse(data)) });
  parser.feed(await response.text());
  return results.flatMap((result) => result.errors ?? []).map((error) => error.extensions?.code);
}

const REGENERATE = `subscription ($id: ID!) { inference(conversationId: $id, regenerate: true) { __typename } }`;
const INFERENCE = `subscription ($id: ID!) { inference(conversationId: $id) { __typename } }`;
const CHAT_EVENTS = `subscription { chatEvents { type } }`;

describe('requests per minute', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await gateway({ LIMIT_REQUESTS_PER_MINUTE: '3' });
  });

  it('counts down in RateLimit-*, then answers 429 on REST and GraphQL alike, storing nothing; /healthz is not counted', async () => {
    for (const remaining of ['2', '1', '0']) {
      const response = await app.request('/chats/');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe('3');
      expect(response.headers.get('ratelimit-remaining')).toBe(remaining);
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect(Number(response.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
    }
    const health = await app.request('/healthz');
    expect(health.status).toBe(200);
    expect(health.headers.get('ratelimit-limit')).toBeNull();

    await expectRefused(
      await app.request('/chats/create', jsonInit('POST', { name: 'refused' })),
      3,
      /3 requests per minute; retry in \d+ s/,
    );
    expect(await app.database.prisma.chat.count()).toBe(0);

    const graphql = await app.request('/graphql', jsonInit('POST', { query: 'mutation { createChat(name: "refused") { id } }' }));
    expect(graphql.status).toBe(429);
    expect(graphql.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await graphql.json()).toEqual({
      errors: [{ message: expect.stringMatching(/3 requests per minute/), extensions: { code: 'RATE_LIMITED' } }],
    });
    expect(await app.database.prisma.chat.count()).toBe(0);
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('counts anonymous callers per IP address (over real sockets from two loopback addresses)', async () => {
    const limited = await gateway({ LIMIT_REQUESTS_PER_MINUTE: '2' });
    const url = await served(limited);
    const statusFrom = (localAddress: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        httpRequest(`${url}/chats/`, { localAddress }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode));
        })
          .on('error', reject)
          .end();
      });
    const first = [await statusFrom('127.0.0.1'), await statusFrom('127.0.0.1'), await statusFrom('127.0.0.1')];
    const second = [await statusFrom('127.0.0.2'), await statusFrom('127.0.0.2'), await statusFrom('127.0.0.2')];
    expect(first).toEqual([200, 200, 429]);
    expect(second).toEqual([200, 200, 429]);
    // In-process requests have no address at all: a key of their own.
    expect((await limited.request('/chats/')).status).toBe(200);
  });
});

describe('generation starts per minute', () => {
  let app: TestApp;
  beforeAll(async () => {
    // One stream at a time, too: the refusals must not keep theirs.
    app = await gateway({ LIMIT_GENERATIONS_PER_MINUTE: '3', LIMIT_CONCURRENT_STREAMS: '1' });
  });

  it('20 regenerate calls with a limit of 3 start exactly 3 generations; the others are refused before any stream', async () => {
    const asked = await question(app);
    const before = tgi.requests.length;
    const statuses: number[] = [];
    for (let call = 0; call < 20; call++) {
      const response = await infer(app, asked, '?regenerate=true');
      statuses.push(response.status);
      if (response.status === 200) expect((await readSse(response)).at(-1)!.event).toBe('done');
      else await expectRefused(response, 3, /3 generations started per minute; retry in \d+ s/);
    }
    expect(statuses).toEqual([200, 200, 200, ...Array<number>(17).fill(429)]);
    expect(tgi.requests.length - before).toBe(3);
    expect(await replies(app, asked)).toBe(3);

    // Replaying the stored reply starts nothing, so it is not refused.
    expect(tokensOf(await readSse(await infer(app, asked)))).toBe('Plankton and whales.');
    // GraphQL: the same code, as the subscription's one result; still no reply stored.
    expect(await subscriptionErrorCodes(app.request, REGENERATE, { id: asked })).toEqual(['RATE_LIMITED']);
    expect(await subscriptionErrorCodes(app.request, INFERENCE, { id: await question(app) })).toEqual(['RATE_LIMITED']);
    expect(await replies(app, asked)).toBe(3);
    expect(tgi.requests.length - before).toBe(3);
  });

  it('a listener joining a running generation is not a start', async () => {
    const joined = await gateway({ LIMIT_GENERATIONS_PER_MINUTE: '1' });
    const asked = await question(joined);
    const before = tgi.requests.length;
    const tokens = Array.from({ length: 10 }, (_, i) => `j${i} `);
    tgi.script({ kind: 'tokens', tokens, pacing: { intervalMs: 10 } });
    const first = await infer(joined, asked);
    const second = await infer(joined, asked);
    expect([first.status, second.status]).toEqual([200, 200]);
    const [a, b] = await Promise.all([readSse(first), readSse(second)]);
    expect(tokensOf(a)).toBe(tokens.join(''));
    expect(tokensOf(b)).toBe(tokens.join(''));
    expect(tgi.requests.length - before).toBe(1);
    await expectRefused(await infer(joined, asked, '?regenerate=true'), 1, /1 generations started per minute/);
  });

  it('two regenerate calls at once start one generation, counted once', async () => {
    const twice = await gateway({ LIMIT_GENERATIONS_PER_MINUTE: '2' });
    const asked = await question(twice);
    await readSse(await infer(twice, asked));
    const before = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: ['Once', ' more.'], pacing: { intervalMs: 10 } });
    const both = await Promise.all([infer(twice, asked, '?regenerate=true'), infer(twice, asked, '?regenerate=true')]);
    expect(both.map((response) => response.status)).toEqual([200, 200]);
    for (const events of await Promise.all(both.map(readSse))) expect(tokensOf(events)).toBe('Once more.');
    expect(tgi.requests.length - before).toBe(1);
    expect(await replies(twice, asked)).toBe(2);
    await expectRefused(await infer(twice, asked, '?regenerate=true'), 2, /2 generations started per minute/);
  });
});

describe('concurrent streams', () => {
  /** A model server of its own, whose generations stall after a first token until the gateway hangs up. */
  let stalling: TgiStandin;
  let app: TestApp;
  let url: string;
  /** Requests over a real socket: a client (limit key) other than the in-process one. */
  let overSocket: Send;
  let answered: string;
  /** The id of the final event of `answered`'s reply: a resume with it has nothing left to get. */
  let answeredFinalId: string;
  beforeAll(async () => {
    stalling = await startTgiStandin({ keepAliveMs: 0, defaultBehaviour: { kind: 'stall', afterTokens: ['Hold'] } });
    app = await createTestApp({ TGI_URL: stalling.url, INFERENCE_GRACE_MS: '100', LIMIT_CONCURRENT_STREAMS: '2' });
    gateways.push(app);
    url = await served(app);
    overSocket = (path, init) => fetch(`${url}${path}`, init);
    answered = await question(app);
    stalling.script({ kind: 'tokens', tokens: ['Plankton', ' and', ' whales.'] });
    answeredFinalId = (await readSse(await infer(app, answered))).at(-1)!.id;
  });
  afterAll(async () => {
    await stalling?.close();
  });

  /** A stream of a stalled generation, once its first token arrived; the function returned leaves it. */
  async function heldStream(send: Send): Promise<() => Promise<unknown>> {
    const response = await send(`/conversations/inference/${await question(app)}`);
    expect(response.status).toBe(200);
    const events = sseEvents(response);
    expect((await events.next()).value).toMatchObject({ event: 'message' });
    return () => events.return(undefined);
  }

  /** A subscription over a socket of its own, once it has started; the function returned hangs up. */
  function heldSubscription(query: string, variables: Record<string, unknown> = {}): Promise<() => Promise<void>> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        `${url}/graphql`,
        { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } },
        (response) => {
          expect(response.statusCode).toBe(200);
          resolve(async () => {
            request.destroy();
          });
        },
      );
      request.on('error', reject).end(JSON.stringify({ query, variables }));
    });
  }

  /** Whether `send`'s client may open a stream now: a replay of the stored reply, read to its end (which frees it again). */
  async function streamAllowed(send: Send): Promise<boolean> {
    const response = await send(`/conversations/inference/${answered}`);
    if (response.status === 429) {
      await expectRefused(response, 2, /2 streams open at once/);
      return false;
    }
    expect(tokensOf(await readSse(response))).toBe('Plankton and whales.');
    return true;
  }

  it('refuses a stream past the limit on REST and for both GraphQL subscriptions; a stream that ends frees its slot', async () => {
    const leave = await heldStream(app.request);
    // In-process, a response body is produced only as it is read: this replay stays open until then.
    const replay = await infer(app, answered);
    expect(replay.status).toBe(200);
    const refused = await infer(app, answered);
    expect(await expectRefused(refused, 2, /^Limit reached: 2 streams open at once; close one, or retry in 1 s$/)).toBe(1);
    expect(await subscriptionErrorCodes(app.request, INFERENCE, { id: answered })).toEqual(['RATE_LIMITED']);
    expect(await subscriptionErrorCodes(app.request, CHAT_EVENTS)).toEqual(['RATE_LIMITED']);

    await readSse(replay);
    expect(await streamAllowed(app.request)).toBe(true);
    await leave();
  });

  it.each([
    ['a REST stream', () => heldStream(overSocket)],
    ['an inference subscription', async () => heldSubscription(INFERENCE, { id: await question(app) })],
    ['a chatEvents subscription', () => heldSubscription(CHAT_EVENTS)],
  ])('frees the slot of %s whose client leaves (over a socket)', async (_case, open) => {
    const leaveOther = await heldStream(overSocket);
    const leave = await open();
    expect(await streamAllowed(overSocket)).toBe(false);
    await leave();
    await expect.poll(() => streamAllowed(overSocket)).toBe(true);
    await leaveOther();
    await expect.poll(async () => (await streamAllowed(overSocket)) && (await streamAllowed(overSocket))).toBe(true);
  });

  it('holds no slot for a refusal before the first event, nor for a resume with nothing left to send', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await infer(app, '3fa85f64-5717-4562-b3fc-2c963f66afa6')).status).toBe(404);
      expect((await infer(app, 'not-an-id')).status).toBe(404);
      expect((await infer(app, answered, '', { headers: { 'last-event-id': answeredFinalId } })).status).toBe(204);
      expect(await subscriptionErrorCodes(app.request, INFERENCE, { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6' })).toEqual(['NOT_FOUND']);
    }
    const leaveFirst = await heldStream(app.request);
    const leaveSecond = await heldStream(app.request);
    expect(await streamAllowed(app.request)).toBe(false);
    await Promise.all([leaveFirst(), leaveSecond()]);
  });
});

describe('completion tokens per day', () => {
  it("refuses new starts once the model's reported usage spent the budget; the generation that spent it is not cut", async () => {
    const app = await gateway({ LIMIT_COMPLETION_TOKENS_PER_DAY: '10' });
    const asked = await question(app);
    const before = tgi.requests.length;
    const tokens = Array.from({ length: 12 }, (_, i) => `u${i} `);
    // 12 tokens and the end-of-sequence one: 13 reported.
    tgi.script({ kind: 'tokens', tokens });
    const events = await readSse(await infer(app, asked));
    expect(tokensOf(events)).toBe(tokens.join(''));
    expect(events.at(-1)!.data.usage).toMatchObject({ completion_tokens: 13 });
    // The charge follows the generation's end in the same turn of the event loop.
    await macrotask();

    const retryAfter = await expectRefused(
      await infer(app, asked, '?regenerate=true'),
      10,
      /10 completion tokens per 24 hours; retry in 24 h/,
    );
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    await expectRefused(await infer(app, await question(app)), 10, /completion tokens/);
    expect(tgi.requests.length - before).toBe(1);
    expect(await replies(app, asked)).toBe(1);
    // The stored reply is still served.
    expect(tokensOf(await readSse(await infer(app, asked)))).toBe(tokens.join(''));
  });

  it('estimates a token per 4 characters of the text when the model reports no usage', async () => {
    const app = await gateway({ LIMIT_COMPLETION_TOKENS_PER_DAY: '10' });
    // 36 characters: 9 tokens, one left.
    tgi.script({ kind: 'tokens', tokens: ['abcdefghijkl', 'abcdefghijkl', 'abcdefghijkl'], includeUsage: false });
    const first = await readSse(await infer(app, await question(app)));
    expect(first.at(-1)!.data.usage).toBeNull();
    await macrotask();
    // 4 more characters: 10 of 10.
    tgi.script({ kind: 'tokens', tokens: ['abcd'], includeUsage: false });
    expect((await readSse(await infer(app, await question(app)))).at(-1)!.event).toBe('done');
    await macrotask();
    await expectRefused(await infer(app, await question(app)), 10, /completion tokens/);
  });
});

describe('web searches per day', () => {
  it('counts every internet answer started, cache hits included; replays and plain answers are not searches', async () => {
    const app = await gateway({ LIMIT_SEARCHES_PER_DAY: '2' });
    const internet = (id: string) => app.request(`/conversations/inference_internet/${id}`);
    const searches = serp.requests.length;
    const first = await question(app, 'Who discovered penicillin?');
    const sameQuestion = await question(app, 'Who discovered penicillin?');
    expect((await readSse(await internet(first))).at(-1)!.event).toBe('done');
    expect((await readSse(await internet(sameQuestion))).at(-1)!.event).toBe('done');
    // The second was answered from the search cache, and still counted.
    expect(serp.requests.length - searches).toBe(1);

    const third = await question(app, 'Who discovered insulin?');
    const before = tgi.requests.length;
    await expectRefused(await internet(third), 2, /2 web searches per 24 hours/);
    expect(await replies(app, third)).toBe(0);
    expect(tgi.requests.length).toBe(before);
    expect(serp.requests.length - searches).toBe(1);

    expect((await readSse(await internet(first))).map((event) => event.event)).toEqual(['sources', 'message', 'done']);
    expect((await readSse(await infer(app, third))).at(-1)!.event).toBe('done');
  });
});

describe('HEAD on an inference route', () => {
  it('answers the stream headers only: it starts no generation, stores nothing and holds no stream slot', async () => {
    const app = await gateway({ LIMIT_CONCURRENT_STREAMS: '1' });
    const asked = await question(app);
    const before = tgi.requests.length;
    for (const path of [`/conversations/inference/${asked}`, `/conversations/inference_internet/${asked}`]) {
      const response = await app.request(path, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    }
    // As GraphQL subscriptions are (Yoga serves GET and POST only).
    const subscription = encodeURIComponent(`subscription { inference(conversationId: "${asked}") { __typename } }`);
    const graphql = await app.request(`/graphql?query=${subscription}`, { method: 'HEAD', headers: { accept: 'text/event-stream' } });
    expect(graphql.status).toBe(405);
    await macrotask();
    expect(tgi.requests.length).toBe(before);
    expect(await replies(app, asked)).toBe(0);
    expect((await readSse(await infer(app, asked))).at(-1)!.event).toBe('done');
  });
});

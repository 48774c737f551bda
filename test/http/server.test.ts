import { connect } from 'node:net';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, jsonInit, listen, type TestApp } from '../support/app.ts';
import { readSse, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const TIMEOUTS = { REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '500' };

let tgi: TgiStandin;
let app: TestApp;
let server: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
  app = await createTestApp({ TGI_URL: tgi.url });
  server = await listen(app, TIMEOUTS);
});
afterAll(async () => {
  await server.close();
  await app.close();
  await tgi.close();
});

/** Writes `request` on a raw socket and returns everything the server sends until it closes the connection. */
function exchange(request: string): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => socket.write(request));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('request timeouts', () => {
  it('answers 408 and closes the connection when a body announced as 100 bytes stops after 10', async () => {
    const body = '{"name":"s';
    const answer = await exchange(
      `POST /chats/create HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(await app.database.prisma.chat.count()).toBe(0);
  });

  it('answers 408 and closes the connection when the headers never end', async () => {
    const answer = await exchange('GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('does not cut a reply streamed for longer than the request timeout (REST SSE)', async () => {
    const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'long reply' }))).json();
    const asked = await (
      await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Take your time' }))
    ).json();
    const tokens = Array.from({ length: 8 }, (_, i) => `t${i} `);
    tgi.script({ kind: 'tokens', tokens, pacing: { firstTokenDelayMs: 300, intervalMs: 300 } });
    const started = performance.now();
    const events = await readSse(await fetch(`${server.url}/conversations/inference/${asked.id}`));
    expect(performance.now() - started).toBeGreaterThan(2 * Number(TIMEOUTS.REQUEST_TIMEOUT_MS));
    expect(tokensOf(events)).toBe(tokens.join(''));
    expect(events.at(-1)?.event).toBe('done');
  });

  it('does not cut a GraphQL subscription open for longer than the request timeout (graphql-sse)', async () => {
    const client = createClient({ url: `${server.url}/graphql`, retryAttempts: 0 });
    try {
      let connected!: () => void;
      const isConnected = new Promise<void>((resolve) => (connected = resolve));
      const events = client.iterate<{ chatEvents: unknown }>(
        { query: 'subscription { chatEvents { type chat { name } } }' },
        { connected: () => connected() },
      );
      await isConnected;
      await new Promise((resolve) => setTimeout(resolve, 2 * Number(TIMEOUTS.REQUEST_TIMEOUT_MS)));
      await app.request('/chats/create', jsonInit('POST', { name: 'seen late' }));
      const { value } = await events.next();
      expect(value).toEqual({ data: { chatEvents: { type: 'CHAT_CREATED', chat: { name: 'seen late' } } } });
      await events.return?.();
    } finally {
      client.dispose();
    }
  });
});

describe('clients hanging up', () => {
  // Hono's CORS middleware re-creates each response around its body; Node's fetch then read Yoga's
  // body as an async iterable and threw an uncaught exception, ending the process, at this hang-up.
  it('on a GraphQL event stream leave the gateway serving', async () => {
    const hangUp = new AbortController();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { chatEvents { type } }' }),
      signal: hangUp.signal,
    });
    await response.body!.getReader().read();
    hangUp.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('event streams, written straight to the socket', () => {
  let streaming: TestApp;
  let streamingServer: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    streaming = await createTestApp({ TGI_URL: tgi.url, INFERENCE_GRACE_MS: '200' });
    streamingServer = await listen(streaming);
  });
  afterAll(async () => {
    await streamingServer.close();
    await streaming.close();
  });

  const ask = async (message: string): Promise<string> => {
    const chat = await (await streaming.request('/chats/create', jsonInit('POST', { name: message }))).json();
    const asked = await streaming.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message }));
    return ((await asked.json()) as { id: string }).id;
  };

  it("carry every middleware's headers and the same events as a stream read in process", async () => {
    const id = await ask('Say three words');
    tgi.script({ kind: 'tokens', tokens: ['one', ' two\nlines', ' three'] });
    const response = await fetch(`${streamingServer.url}/conversations/inference/${id}`, { headers: { 'x-request-id': 'socket-1' } });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-request-id')).toBe('socket-1');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const raw = await response.text();
    expect(raw).toMatch(/^retry: \d+\n\n/);

    const overSocket = await readSse(new Response(raw));
    // The same reply, replayed in process through the web stream of the same body.
    const inProcess = await readSse(await streaming.request(`/conversations/inference/${id}`));
    expect(tokensOf(overSocket)).toBe('one two\nlines three');
    expect(tokensOf(inProcess)).toBe(tokensOf(overSocket));
    expect(overSocket.at(-1)).toMatchObject({ event: 'done', id: inProcess.at(-1)!.id });
  });

  it('a client that leaves while its request is handled, before any event: the generation is abandoned all the same', async () => {
    const id = await ask('Leave early');
    const before = tgi.requests.length;
    tgi.script({ kind: 'stall', afterTokens: ['a'] });
    // The app, answering 50 ms late (a slow lookup under load): the client is gone by the time its stream is handed over.
    const slow = await listen({
      fetch: async (...args: Parameters<TestApp['fetch']>) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return streaming.fetch(...args);
      },
    });
    try {
      const { port } = new URL(slow.url);
      const socket = connect({ host: '127.0.0.1', port: Number(port) }, () =>
        socket.write(`GET /conversations/inference/${id} HTTP/1.1\r\nHost: gateway\r\n\r\n`),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      socket.destroy();
      await tgi.waitForClientClose(before);
      await vi.waitFor(async () => {
        const stored = await streaming.database.prisma.conversation.findFirstOrThrow({ where: { replyToId: id } });
        expect(stored).toMatchObject({ status: 'incomplete', errorCode: 'ABANDONED' });
      });
    } finally {
      await slow.close();
    }
  });

  it('a client that hangs up mid-stream ends its listener: the upstream request is aborted after the grace period', async () => {
    const id = await ask('Talk for a while');
    const before = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 100 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const hangUp = new AbortController();
    const response = await fetch(`${streamingServer.url}/conversations/inference/${id}`, { signal: hangUp.signal });
    const reader = response.body!.getReader();
    await reader.read();
    hangUp.abort();
    await tgi.waitForClientClose(before);
    await vi.waitFor(async () => {
      const stored = await streaming.database.prisma.conversation.findFirstOrThrow({ where: { replyToId: id } });
      expect(stored).toMatchObject({ status: 'incomplete', errorCode: 'ABANDONED' });
    });
  });

  it("GraphQL's (distinct connections) carry Yoga's wire and every middleware's headers; a client that hangs up ends the subscription", async () => {
    const chat = await (await streaming.request('/chats/create', jsonInit('POST', { name: 'socket subscription' }))).json();
    const asked = await (
      await streaming.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Count' }))
    ).json();
    const subscribe = (id: string, signal?: AbortSignal) =>
      fetch(`${streamingServer.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-request-id': 'socket-2' },
        body: JSON.stringify({
          query:
            'subscription($id: ID!) { inference(conversationId: $id, regenerate: true) { __typename ... on InferenceToken { text } } }',
          variables: { id },
        }),
        signal,
      });

    tgi.script({ kind: 'tokens', tokens: ['one', ' two'] });
    const response = await subscribe(asked.id);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-request-id')).toBe('socket-2');
    const raw = await response.text();
    expect(raw.startsWith(':\n\n')).toBe(true);
    expect(raw).toContain('event: next\ndata: {"data":{"inference":{"__typename":"InferenceToken","text":"one"}}}\n\n');
    expect(raw.endsWith('event: complete\ndata:\n\n')).toBe(true);

    const before = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 100 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const hangUp = new AbortController();
    const stream = await subscribe(asked.id, hangUp.signal);
    await stream.body!.getReader().read();
    hangUp.abort();
    // The subscription ends, its listener with it: after the grace period nobody pays for the generation.
    await tgi.waitForClientClose(before);
  });
});

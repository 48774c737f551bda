import { connect } from 'node:net';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

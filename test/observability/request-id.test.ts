/**
 * X-Request-Id: taken from the client when it is short and plain, made otherwise, returned on every
 * response, on every log line the request causes (a generation it started included) and sent to the
 * model server.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { bearer, createTestApp, jsonInit, postGraphQL, type TestApp } from '../support/app.ts';
import { readSse } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type LogLine = { msg: string; requestId?: string; graphqlOperation?: string; component?: string; [field: string]: unknown };

let tgi: TgiStandin;
let app: TestApp;
const logs: LogLine[] = [];

beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
  const logger = createLogger(
    { log: { level: 'info' }, inference: loadConfig({}).inference, search: null },
    { write: (line: string) => void logs.push(JSON.parse(line)) },
  );
  app = await createTestApp({ TGI_URL: tgi.url, INFERENCE_SAVE_INTERVAL_MS: '50' }, { logger });
});

afterAll(async () => {
  await app?.close();
  await tgi?.close();
});

const withId = (requestId: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), 'x-request-id': requestId },
});

async function question(message: string): Promise<string> {
  const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'request ids' }))).json();
  const asked = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message }));
  return ((await asked.json()) as { id: string }).id;
}

describe('X-Request-Id', () => {
  it.each(['abc', 'req-2024.11.29:0001_A', 'x'.repeat(128)])('keeps an id the client chose: %s', async (sent) => {
    const response = await app.request('/chats/', withId(sent));
    expect(response.headers.get('x-request-id')).toBe(sent);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['with a space', 'a b'],
    ['with a quote', 'a"b'],
    ['with a slash', 'a/b'],
    ['not ASCII', 'é'],
  ])("makes a new one when the client's is %s", async (_case, sent) => {
    const response = await app.request('/chats/', sent === undefined ? {} : withId(sent));
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it('is returned on every kind of response: errors, GraphQL, event streams, /metrics', async () => {
    const id = await question('Hello?');
    const responses = {
      'no route': await app.request('/nowhere', withId('r-404')),
      'bad credential': await app.request('/chats/', withId('r-401', { headers: bearer('nonsense') })),
      'malformed JSON': await app.request(
        '/chats/create',
        withId('r-400', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
      ),
      'too large': await app.request('/chats/create', withId('r-413', jsonInit('POST', { name: 'x'.repeat(70_000) }))),
      GraphQL: await app.request('/graphql', withId('r-gql', jsonInit('POST', { query: '{ chats(first: 1) { edges { node { id } } } }' }))),
      'GraphQL error': await app.request('/graphql', withId('r-gql-error', jsonInit('POST', { query: '{ nope }' }))),
      'event stream': await app.request(`/conversations/inference/${id}`, withId('r-sse')),
      metrics: await app.request('/metrics', withId('r-metrics')),
    };
    const seen = Object.entries(responses).map(([name, response]) => [name, [response.status, response.headers.get('x-request-id')]]);
    expect(Object.fromEntries(seen)).toEqual({
      'no route': [404, 'r-404'],
      'bad credential': [401, 'r-401'],
      'malformed JSON': [400, 'r-400'],
      'too large': [413, 'r-413'],
      GraphQL: [200, 'r-gql'],
      'GraphQL error': [200, 'r-gql-error'],
      'event stream': [200, 'r-sse'],
      metrics: [200, 'r-metrics'],
    });
    await readSse(responses['event stream']);
  });

  it('is sent to the model server, whether the client chose it or not', async () => {
    await readSse(await app.request(`/conversations/inference/${await question('Chosen?')}`, withId('client-chosen-1')));
    expect(tgi.requests.at(-1)?.headers['x-request-id']).toBe('client-chosen-1');

    const response = await app.request(`/conversations/inference/${await question('Made?')}`);
    await readSse(response);
    expect(tgi.requests.at(-1)?.headers['x-request-id']).toBe(response.headers.get('x-request-id'));
  });

  it("is on every log line of its request, a generation's lines included, and on no other request's", async () => {
    const id = await question('What fails?');
    tgi.script({ kind: 'error-frame', afterTokens: ['Half'], errorType: 'generation' });
    const from = logs.length;

    const events = await readSse(await app.request(`/conversations/inference/${id}`, withId('failing-generation')));
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'UPSTREAM_ERROR' } });
    await app.request('/chats/', withId('next-request'));

    const lines = logs.slice(from);
    expect(lines.filter((line) => line.requestId === 'failing-generation').map((line) => line.msg)).toEqual([
      'request',
      'generation failed',
    ]);
    expect(lines.find((line) => line.msg === 'generation failed')).toMatchObject({ component: 'replies', code: 'UPSTREAM_ERROR' });
    expect(lines.filter((line) => line.requestId === 'next-request').map((line) => line.msg)).toEqual(['request']);
    expect(lines.filter((line) => line.requestId === undefined)).toEqual([]);
  });

  it('GraphQL log lines name the operation', async () => {
    const from = logs.length;

    await postGraphQL(app, 'query ChatsForTheLog { chats(first: 1) { edges { node { id } } } }', {}, { 'x-request-id': 'named-operation' });

    expect(logs.slice(from)).toContainEqual(
      expect.objectContaining({ msg: 'request', requestId: 'named-operation', graphqlOperation: 'ChatsForTheLog', path: '/graphql' }),
    );
  });
});

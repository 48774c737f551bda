/**
 * What the model server says when it fails (its error body can name hosts, addresses, GPUs and
 * tokens) reaches the operator's log, with credentials removed, and never a client or the store:
 * listeners and stored replies get one fixed sentence per error code.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestApp, jsonInit, type TestApp } from '../support/app.ts';
import { readSse } from '../support/sse.ts';
import { startTgiStandin, type TgiBehaviour, type TgiStandin } from '../support/tgi-standin.ts';

const HF_TOKEN = 'hf_ConfiguredGatewayToken0123';
const LEAKY_ERROR =
  'CUDA OOM on gpu-node-7.internal (10.2.3.4) while serving /models/llama; token=hf_AbCdEfGhIjKlMnOpQrSt api_key=sk-live-123456789 ' +
  `Authorization: Bearer ${HF_TOKEN}`;

/** Anything of the model server's own words, or a credential. */
const INTERNALS = /gpu-node-7|10\.2\.3\.4|CUDA|\/models\/|hf_|api_key|sk-live|Bearer/;

const FIXED = {
  UPSTREAM_ERROR: 'The model server failed to generate the reply',
  UPSTREAM_OVERLOADED: 'The model server is overloaded; try again later',
  UPSTREAM_REJECTED: 'The model server refused the request, for example because the chat is too long for the model',
  UPSTREAM_TIMEOUT: 'The model server did not answer in time',
};

let tgi: TgiStandin;
let app: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
  const env = { TGI_URL: tgi.url, HF_TOKEN, INFERENCE_FIRST_TOKEN_TIMEOUT_MS: '1500', INFERENCE_IDLE_TIMEOUT_MS: '1500' };
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig(env);
  app = await createTestApp(env, { logger: createLogger({ ...config, log: { level: 'info' } }, sink) });
});
afterAll(async () => {
  await app.close();
  await tgi.close();
});

async function question(): Promise<{ chatId: string; id: string }> {
  const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'failures' }))).json();
  const asked = await (
    await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hello?' }))
  ).json();
  return { chatId: chat.id, id: asked.id };
}

/** The results of a GraphQL subscription over SSE (distinct connections mode), until it completes. */
async function subscriptionResults(query: string, variables: Record<string, unknown>) {
  const response = await app.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: next'))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)));
}

describe.each<[string, TgiBehaviour, keyof typeof FIXED]>([
  ['an error answer before the stream (424)', { kind: 'http-error', errorType: 'generation', message: LEAKY_ERROR }, 'UPSTREAM_ERROR'],
  [
    'an error event in the stream',
    { kind: 'error-frame', afterTokens: ['Half'], errorType: 'generation', message: LEAKY_ERROR },
    'UPSTREAM_ERROR',
  ],
  ['an overloaded answer (429)', { kind: 'http-error', errorType: 'overloaded', message: LEAKY_ERROR }, 'UPSTREAM_OVERLOADED'],
  ['a refused request (422)', { kind: 'http-error', errorType: 'validation', message: LEAKY_ERROR }, 'UPSTREAM_REJECTED'],
  ['an internal error (500)', { kind: 'http-error', errorType: 'incomplete_generation', message: LEAKY_ERROR }, 'UPSTREAM_ERROR'],
  ['a dropped connection', { kind: 'drop', afterTokens: ['Half'], pacing: { intervalMs: 10 } }, 'UPSTREAM_ERROR'],
  ['no first token in time', { kind: 'no-first-token' }, 'UPSTREAM_TIMEOUT'],
])('the model server fails with %s', (_case, behaviour, code) => {
  it(`the SSE error event, the stored reply and its REST form say "${FIXED[code]}"`, async () => {
    const asked = await question();
    tgi.script(behaviour);
    const events = await readSse(await app.request(`/conversations/inference/${asked.id}`));
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code, detail: FIXED[code] } });
    expect(JSON.stringify(events)).not.toMatch(INTERNALS);

    const reply = await app.database.prisma.conversation.findFirstOrThrow({ where: { replyToId: asked.id } });
    expect(reply).toMatchObject({ status: 'failed', errorCode: code, errorDetail: FIXED[code] });
    const listed = await (await app.request(`/chats/${asked.chatId}/conversations`)).text();
    expect(listed).toContain(FIXED[code]);
    expect(listed).not.toMatch(INTERNALS);
  });

  it('GraphQL InferenceError and the stored errorDetail say the same sentence', async () => {
    const asked = await question();
    tgi.script(behaviour);
    const results = await subscriptionResults(
      'subscription($id: ID!) { inference(conversationId: $id) { __typename ... on InferenceError { code detail } } }',
      { id: asked.id },
    );
    expect(results.at(-1)).toEqual({ data: { inference: { __typename: 'InferenceError', code, detail: FIXED[code] } } });
    const { data } = await (
      await app.request('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'query($id: ID!) { chat(id: $id) { conversations(last: 1) { edges { node { errorCode errorDetail } } } } }',
          variables: { id: asked.chatId },
        }),
      })
    ).json();
    expect(data.chat.conversations.edges[0].node).toEqual({ errorCode: code, errorDetail: FIXED[code] });
  });
});

describe('the log', () => {
  it("keeps the model server's words for the operator, with every credential removed", async () => {
    const asked = await question();
    const logged = logLines.length;
    tgi.script({ kind: 'http-error', errorType: 'generation', message: LEAKY_ERROR });
    await readSse(await app.request(`/conversations/inference/${asked.id}`));
    const failure = logLines.slice(logged).find((line) => JSON.parse(line).msg === 'generation failed');
    expect(failure).toBeDefined();
    expect(failure).toContain('gpu-node-7.internal (10.2.3.4)');
    expect(failure).toContain('HTTP 424');
    const everything = logLines.join('');
    expect(everything).not.toMatch(/hf_AbCd|sk-live|ConfiguredGatewayToken/);
    expect(failure).toContain('token=[REDACTED]');
    expect(failure).toContain('api_key=[REDACTED]');
    expect(failure).toContain('Bearer [REDACTED]');
  });
});

/**
 * GET /metrics through the app: the values an operator graphs move when streams, searches and
 * operations run, and the endpoint is exempt from authentication but can be given a token of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, jsonInit, postGraphQL, type TestApp } from '../support/app.ts';
import { TEST_STORE } from '../support/database.ts';
import { type Scrape, scrape } from '../support/metrics.ts';
import { type SerpApiStandin, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { readSse, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

let tgi: TgiStandin;
let serp: SerpApiStandin;
let app: TestApp;
const otherApps: TestApp[] = [];

beforeAll(async () => {
  [tgi, serp] = await Promise.all([startTgiStandin({ keepAliveMs: 0 }), startSerpApiStandin()]);
  app = await createTestApp({
    TGI_URL: tgi.url,
    INFERENCE_IDLE_TIMEOUT_MS: '300',
    INFERENCE_SAVE_INTERVAL_MS: '50',
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
  });
});

afterAll(async () => {
  for (const other of otherApps) await other.close();
  await app?.close();
  await Promise.all([tgi?.close(), serp?.close()]);
});

async function otherApp(env: Record<string, string>): Promise<TestApp> {
  const other = await createTestApp(env);
  otherApps.push(other);
  return other;
}

/** A new chat with one Human message; returns the message's id. */
async function question(message: string): Promise<string> {
  const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'metrics' }))).json();
  const asked = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message }));
  return ((await asked.json()) as { id: string }).id;
}

/** How much a sample grew between two scrapes (a sample absent before counts from 0). */
const growth = (before: Scrape, after: Scrape, name: string, labels?: Record<string, string>) =>
  (after.value(name, labels) ?? Number.NaN) - (before.value(name, labels) ?? 0);

describe('GET /metrics', () => {
  it('counts the tokens relayed, the time to the first token and between tokens, and the generation, as a stream runs', async () => {
    const id = await question('What lives in the sea?');
    tgi.script({ kind: 'tokens', tokens: ['Fish', ',', ' whales', '.'], pacing: { intervalMs: 10 } });
    const before = await scrape(app);

    const events = await readSse(await app.request(`/conversations/inference/${id}`));

    expect(tokensOf(events)).toBe('Fish, whales.');
    const after = await scrape(app);
    expect(growth(before, after, 'chat_gateway_tokens_relayed_total')).toBe(4);
    expect(growth(before, after, 'chat_gateway_time_to_first_token_seconds_count', { internet: 'false' })).toBe(1);
    expect(growth(before, after, 'chat_gateway_time_to_first_token_seconds_sum', { internet: 'false' })).toBeGreaterThan(0);
    expect(growth(before, after, 'chat_gateway_token_interval_seconds_count')).toBe(3);
    expect(growth(before, after, 'chat_gateway_token_interval_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(growth(before, after, 'chat_gateway_generations_total', { status: 'complete' })).toBe(1);
    expect(
      growth(before, after, 'chat_gateway_http_requests_total', { method: 'GET', route: '/conversations/inference/:id', status: '200' }),
    ).toBe(1);
    expect(after.value('chat_gateway_inference_streams_open')).toBe(0);
    expect(after.value('chat_gateway_generations_running')).toBe(0);
  });

  it('shows a stream open while it runs, then the model server failing it by code', async () => {
    const id = await question('What lives in the deep sea?');
    tgi.script({ kind: 'stall', afterTokens: ['Deep', ' sea'] });
    const before = await scrape(app);

    const events = sseEvents(await app.request(`/conversations/inference/${id}`));
    expect((await events.next()).value).toMatchObject({ event: 'message', text: 'Deep' });
    expect((await events.next()).value).toMatchObject({ event: 'message', text: ' sea' });
    const during = await scrape(app);
    expect(during.value('chat_gateway_inference_streams_open')).toBe(1);
    expect(during.value('chat_gateway_generations_running')).toBe(1);
    expect(growth(before, during, 'chat_gateway_tokens_relayed_total')).toBe(2);

    // The idle timeout ends it.
    expect((await events.next()).value).toMatchObject({ event: 'error', data: { code: 'UPSTREAM_TIMEOUT' } });
    expect((await events.next()).done).toBe(true);
    const after = await scrape(app);
    expect(growth(before, after, 'chat_gateway_upstream_errors_total', { code: 'UPSTREAM_TIMEOUT' })).toBe(1);
    expect(growth(before, after, 'chat_gateway_upstream_errors_total', { code: 'UPSTREAM_OVERLOADED' })).toBe(0);
    expect(growth(before, after, 'chat_gateway_generations_total', { status: 'failed' })).toBe(1);
    expect(after.value('chat_gateway_inference_streams_open')).toBe(0);
    expect(after.value('chat_gateway_generations_running')).toBe(0);
  });

  it('counts an overloaded model server under its own code', async () => {
    const id = await question('Is anyone there?');
    tgi.script({ kind: 'http-error', errorType: 'overloaded' });
    const before = await scrape(app);

    const events = await readSse(await app.request(`/conversations/inference/${id}`));

    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'UPSTREAM_OVERLOADED' } });
    expect(growth(before, await scrape(app), 'chat_gateway_upstream_errors_total', { code: 'UPSTREAM_OVERLOADED' })).toBe(1);
  });

  it('counts the web searches sent to SerpAPI by outcome, and those the cache answered', async () => {
    const before = await scrape(app);

    // The same question twice: one search, then the cache.
    for (let round = 0; round < 2; round += 1) {
      const events = await readSse(
        await app.request(`/conversations/inference_internet/${await question('Who won the World Cup in 1990?')}`),
      );
      expect(events[0]).toMatchObject({ event: 'sources', data: { error: null } });
    }
    serp.script({ kind: 'error', errorType: 'outOfSearches' });
    await readSse(await app.request(`/conversations/inference_internet/${await question('Who won the Tour de France in 1990?')}`));

    const after = await scrape(app);
    expect(growth(before, after, 'chat_gateway_searches_total', { outcome: 'ok' })).toBe(1);
    expect(growth(before, after, 'chat_gateway_searches_total', { outcome: 'SEARCH_QUOTA_EXCEEDED' })).toBe(1);
    expect(growth(before, after, 'chat_gateway_search_cache_hits_total')).toBe(1);
    expect(growth(before, after, 'chat_gateway_time_to_first_token_seconds_count', { internet: 'true' })).toBe(3);
  });

  it('counts GraphQL operations by name and type, their errors by code, and their HTTP status', async () => {
    const before = await scrape(app);

    expect((await postGraphQL(app, 'query MetricsChats { chats(first: 1) { edges { node { id } } } }')).status).toBe(200);
    const missing = await postGraphQL(app, 'mutation MetricsDelete { deleteChat(id: "00000000-0000-4000-8000-000000000000") { id } }');
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const after = await scrape(app);
    const chats = { operationName: 'MetricsChats', operationType: 'query' };
    const deletion = { operationName: 'MetricsDelete', operationType: 'mutation' };
    expect(growth(before, after, 'chat_gateway_graphql_operations_total', chats)).toBe(1);
    expect(growth(before, after, 'chat_gateway_graphql_operations_total', deletion)).toBe(1);
    expect(growth(before, after, 'chat_gateway_graphql_errors_total', { ...deletion, phase: 'execute', code: 'NOT_FOUND' })).toBe(1);
    expect(after.value('chat_gateway_graphql_errors_total', chats)).toBeUndefined();
    expect(growth(before, after, 'chat_gateway_graphql_http_duration_seconds_count', { ...chats, statusCode: '200' })).toBe(1);
    expect(growth(before, after, 'chat_gateway_graphql_http_duration_seconds_count', { ...deletion, statusCode: '404' })).toBe(1);
    expect(growth(before, after, 'chat_gateway_graphql_operation_duration_seconds_count', chats)).toBe(1);
    expect(growth(before, after, 'chat_gateway_http_requests_total', { method: 'POST', route: '/graphql' })).toBe(2);
  });

  it('never makes a label of a long operation name, nor of an operation the document does not hold', async () => {
    const before = await scrape(app);

    await postGraphQL(app, `query ${'Q'.repeat(101)} { chats(first: 1) { edges { node { id } } } }`);
    const unknown = await app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Known { chats(first: 1) { edges { node { id } } } }', operationName: 'Unknown' }),
    });
    expect(unknown.status).toBeGreaterThanOrEqual(400);

    const after = await scrape(app);
    expect(growth(before, after, 'chat_gateway_graphql_operations_total', { operationName: 'other', operationType: 'query' })).toBe(1);
    expect(after.text).not.toContain('QQQQ');
    expect(after.text).not.toContain('Unknown');
  });

  it('reports the database pool on PostgreSQL, and the event-loop delay and CPU of the process', async () => {
    const metrics = await scrape(app);
    if (TEST_STORE === 'postgres') {
      expect(metrics.value('chat_gateway_db_pool_max_connections')).toBe(10);
      expect(metrics.value('chat_gateway_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(0);
      expect(metrics.value('chat_gateway_db_pool_connections', { state: 'active' })).toBeGreaterThanOrEqual(0);
      expect(metrics.value('chat_gateway_db_pool_waiting_queries')).toBe(0);
    } else {
      // PGlite is one in-process connection: there is no pool to report.
      expect(metrics.text).not.toContain('chat_gateway_db_pool');
    }
    expect(metrics.value('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(metrics.value('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('counts rate-limit refusals by limit, as the limits report them', async () => {
    const before = await scrape(app);

    app.metrics.rateLimited('requests');
    app.metrics.rateLimited('requests');
    app.metrics.rateLimited('generations');

    const after = await scrape(app);
    expect(growth(before, after, 'chat_gateway_rate_limited_total', { limit: 'requests' })).toBe(2);
    expect(growth(before, after, 'chat_gateway_rate_limited_total', { limit: 'generations' })).toBe(1);
  });

  it("keeps each app's metrics to itself", async () => {
    const other = await otherApp({});

    expect((await scrape(app)).value('chat_gateway_tokens_relayed_total')).toBeGreaterThan(0);
    expect((await scrape(other)).value('chat_gateway_tokens_relayed_total')).toBe(0);
  });
});

describe('access to GET /metrics', () => {
  it('needs no credential, even when every other route does', async () => {
    const guarded = await otherApp({ AUTH: 'required' });

    expect((await guarded.request('/chats/')).status).toBe(401);
    expect((await scrape(guarded)).value('chat_gateway_http_requests_total', { status: '401' })).toBe(1);
  });

  it('needs METRICS_TOKEN as a bearer token when one is set', async () => {
    const guarded = await otherApp({ AUTH: 'required', METRICS_TOKEN });

    for (const headers of [{}, bearer('not-the-metrics-token'), { authorization: METRICS_TOKEN }]) {
      const refused = await guarded.request('/metrics', { headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await refused.json()).toEqual({
        detail: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>',
        code: 'UNAUTHENTICATED',
      });
    }
    expect((await scrape(guarded, bearer(METRICS_TOKEN))).value('chat_gateway_http_requests_total', { status: '401' })).toBe(3);
  });
});

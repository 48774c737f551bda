/**
 * OpenTelemetry tracing against a local OTLP/HTTP receiver: one trace per request, from the caller's
 * traceparent, holding the request's span, the database's spans and the model server's call, which
 * carries the trace on to the model server.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTracing, type Tracing } from '../../src/observability/tracing.ts';
import { createTestApp, jsonInit, postGraphQL, type TestApp } from '../support/app.ts';
import { type SerpApiStandin, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { readSse, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

/** A span as OTLP/JSON encodes it (ids in hex), with its service. */
interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  service: unknown;
}

const SPAN_KIND = { internal: 1, server: 2, client: 3 };
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const INTERNET_TRACE = '5bf92f3577b34da6a3ce929d0e0e4737';

/** An OTLP/HTTP collector that keeps what it is sent to /v1/traces. */
async function startReceiver() {
  const spans: ExportedSpan[] = [];
  const exports: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      exports.push(req.headers);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const { resource, scopeSpans } of body.resourceSpans) {
        const service = resource.attributes.find((a: { key: string }) => a.key === 'service.name')?.value.stringValue;
        for (const { spans: scoped } of scopeSpans) {
          for (const span of scoped) {
            const attributes = Object.fromEntries(
              (span.attributes ?? []).map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]]),
            );
            spans.push({ ...span, attributes, service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    exports,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let tgi: TgiStandin;
let serp: SerpApiStandin;
let tracing: Tracing;
let app: TestApp;
let streamed: string;

beforeAll(async () => {
  [receiver, tgi, serp] = await Promise.all([startReceiver(), startTgiStandin({ keepAliveMs: 0 }), startSerpApiStandin()]);
  const env = {
    TGI_URL: tgi.url,
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=s3cret%20key',
    OTEL_SERVICE_NAME: 'gateway-under-test',
  };
  tracing = await startTracing(loadConfig(env).observability.tracing!);
  app = await createTestApp(env);

  // The traced work: an inference stream whose caller is traced, a GraphQL operation, a token in a URL.
  const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'traced' }))).json();
  const asked = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hi?' }));
  const { id } = (await asked.json()) as { id: string };
  const internet = await app.request(`/conversations/inference_internet/${id}`, {
    headers: { traceparent: `00-${INTERNET_TRACE}-${CALLER_SPAN}-01` },
  });
  expect((await readSse(internet))[0]?.event).toBe('sources');
  const response = await app.request(`/conversations/inference/${id}`, {
    headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  });
  streamed = tokensOf(await readSse(response));
  await postGraphQL(app, 'query TracedChats { chats(first: 1) { edges { node { id } } } }');
  // An unknown credential: refused, but traced.
  expect((await app.request(`/conversations/inference/${id}?access_token=do-not-export`)).status).toBe(401);

  // Exports every span ended so far.
  await tracing.shutdown();
});

afterAll(async () => {
  await app?.close();
  await Promise.all([tgi?.close(), serp?.close(), receiver?.close()]);
});

const inTrace = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);

/** Whether `span` descends from `ancestor` within the spans received. */
function descendsFrom(span: ExportedSpan, ancestor: ExportedSpan): boolean {
  const byId = new Map(receiver.spans.map((each) => [each.spanId, each]));
  for (let parent = byId.get(span.parentSpanId ?? ''); parent; parent = byId.get(parent.parentSpanId ?? '')) {
    if (parent.spanId === ancestor.spanId) return true;
  }
  return false;
}

describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('exports a trace per request, continuing the caller’s: request → database → model server', () => {
    expect(streamed).toBe('Hello from the TGI stand-in.');
    const spans = inTrace(CALLER_TRACE);
    const request = spans.find((span) => span.kind === SPAN_KIND.server);
    expect(request).toMatchObject({
      name: 'GET /conversations/inference/:id',
      parentSpanId: CALLER_SPAN,
      attributes: { 'http.route': '/conversations/inference/:id', 'http.response.status_code': 200 },
      service: 'gateway-under-test',
    });

    const database = spans.filter((span) => span.name.startsWith('prisma:'));
    expect(database.length).toBeGreaterThan(0);
    for (const span of database) expect(descendsFrom(span, request!)).toBe(true);

    const upstream = spans.find(
      (span) => span.kind === SPAN_KIND.client && span.attributes['url.full'] === `${tgi.url}/v1/chat/completions`,
    );
    expect(upstream).toMatchObject({ attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200 } });
    expect(descendsFrom(upstream!, request!)).toBe(true);

    // The model server is told the trace, as the child of the upstream call.
    expect(tgi.requests.at(-1)?.headers.traceparent).toBe(`00-${CALLER_TRACE}-${upstream!.spanId}-01`);
  });

  it('traces the web search of an internet answer, without its API key', () => {
    const spans = inTrace(INTERNET_TRACE);
    const request = spans.find((span) => span.kind === SPAN_KIND.server);
    const search = spans.find((span) => span.name === 'SerpAPI search');
    expect(search).toMatchObject({ kind: SPAN_KIND.client, attributes: { 'server.address': 'localhost' } });
    expect(descendsFrom(search!, request!)).toBe(true);
    expect(JSON.stringify(receiver.spans)).not.toContain(serp.apiKey);
  });

  it('keeps the access token of an SSE URL out of the exported spans', () => {
    const refused = receiver.spans.find((span) => span.kind === SPAN_KIND.server && span.attributes['http.response.status_code'] === 401);
    expect(refused?.attributes['url.full']).toMatch(/\/conversations\/inference\/[\w-]+\?access_token=REDACTED$/);
    expect(JSON.stringify(receiver.spans)).not.toContain('do-not-export');
  });

  it('names the GraphQL operation on its request span, and starts a new trace for a caller that sent none', () => {
    const graphql = receiver.spans.find((span) => span.name === 'POST /graphql');
    expect(graphql).toMatchObject({ attributes: { 'graphql.operation.name': 'TracedChats', 'graphql.operation.type': 'query' } });
    expect(graphql?.traceId).not.toBe(CALLER_TRACE);
    expect(graphql?.parentSpanId ?? '').toBe('');
    expect(inTrace(graphql!.traceId).some((span) => span.name.startsWith('prisma:'))).toBe(true);
  });

  it('sends OTEL_EXPORTER_OTLP_HEADERS to the collector', () => {
    expect(receiver.exports.length).toBeGreaterThan(0);
    for (const headers of receiver.exports) expect(headers['x-collector-key']).toBe('s3cret key');
  });
});

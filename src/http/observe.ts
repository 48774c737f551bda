import { prometheus } from '@hono/prometheus';
import type { Handler, MiddlewareHandler } from 'hono';
import { unauthenticated } from '../auth/authenticator.ts';
import type { Metrics } from '../observability/metrics.ts';
import { runInRequestContext } from '../observability/request-context.ts';
import { sameDigest, sha256 } from '../services/api-keys.ts';
import type { AppEnv } from './env.ts';

/** A request id a client may choose: short, and nothing a log line or a header could be confused by. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Around every request: its id (the client's X-Request-Id when acceptable, else a new UUID) returned
 * as X-Request-Id and carried by every log line and model-server call the request causes; its span
 * when tracing is on; its count and duration by route and status. A stream's duration ends at its
 * response headers.
 */
export function observeRequests(metrics: Metrics, options: { tracing: boolean }): MiddlewareHandler<AppEnv> {
  const { registerMetrics: countRequest } = prometheus({ registry: metrics.registry, prefix: 'chat_gateway_' });
  // Loaded only with tracing on, like the SDK: @hono/otel brings OpenTelemetry's semantic conventions.
  const tracingMiddleware = options.tracing
    ? import('@hono/otel').then(({ httpInstrumentationMiddleware }) => httpInstrumentationMiddleware({ captureActiveRequests: false }))
    : undefined;
  return async (c, next) => {
    const sent = c.req.header('x-request-id');
    const requestId = sent !== undefined && CLIENT_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    c.set('requestId', requestId);
    const traceRequest = tracingMiddleware && (await tracingMiddleware);
    const handle = async () => {
      await countRequest(c, next);
    };
    await runInRequestContext({ requestId }, () => (traceRequest ? traceRequest(c, handle) : handle()));
    // After the handler: a Response a handler built itself (Yoga's, an event stream) keeps no header set
    // before. Set on the response as it is: c.header() would rebuild it around its body as a web stream,
    // which @hono/node-server then reads chunk by chunk instead of writing the body it holds.
    c.res.headers.set('x-request-id', requestId);
  };
}

/**
 * GET /metrics in Prometheus' text format. Monitoring carries no API key, so the route is outside
 * authentication; with `token` (METRICS_TOKEN) it answers only `Authorization: Bearer <token>`.
 */
export function metricsEndpoint(metrics: Metrics, token: string | undefined): Handler<AppEnv> {
  const expected = token === undefined ? undefined : sha256(token);
  return async (c) => {
    if (expected !== undefined) {
      const sent = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
      if (sent === undefined || !sameDigest(sha256(sent), expected)) {
        throw unauthenticated('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
      }
    }
    return c.body(await metrics.exposition(), 200, { 'content-type': metrics.contentType });
  };
}

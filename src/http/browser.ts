import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';

/** What our clients send: JSON bodies, bearer credentials, SSE resumption, graphql-sse's stream token, tracing. */
const ALLOWED_REQUEST_HEADERS = [
  'Accept',
  'Authorization',
  'Content-Type',
  'Last-Event-ID',
  'X-GraphQL-Event-Stream-Token',
  'X-Request-ID',
];

/** What a browser client may read besides the CORS-safelisted headers: rate limits, auth challenges, tracing. */
const EXPOSED_RESPONSE_HEADERS = [
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'WWW-Authenticate',
  'X-Request-ID',
];

/**
 * One CORS policy for every route (REST, SSE, /graphql, /graphql/stream), preflights included:
 * only the listed origins, matched exactly, and never credentials. The gateway authenticates with
 * the Authorization header, which needs no cookies, so a page of an allowed origin can call it while
 * a cookie or a TLS client certificate of the browser is never sent along cross-origin.
 */
export function corsPolicy(origins: readonly string[]): MiddlewareHandler {
  const policy = cors({
    origin: [...origins],
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowHeaders: ALLOWED_REQUEST_HEADERS,
    exposeHeaders: EXPOSED_RESPONSE_HEADERS,
    credentials: false,
    maxAge: 600,
  });
  // Only a browser's request (it carries Origin) is answered with CORS headers. Hono's cors sets some
  // before the handler runs, which makes Hono rebuild the handler's response around its body as a web
  // stream, read chunk by chunk when it is sent: a third of a small response's cost, paid by every
  // client otherwise. A cache between must still tell the answers to browsers apart: Vary.
  return async (c, next) => {
    if (c.req.header('origin') !== undefined) return policy(c, next);
    await next();
    c.res.headers.append('vary', 'Origin');
  };
}

/** For JSON and event streams: nothing in them is ever to be run, framed or loaded. */
const API_CONTENT_SECURITY_POLICY = { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] };

/**
 * Security headers on every response (hono/secure-headers): nosniff, no framing, no referrer, HSTS,
 * same-origin resource and opener policies, and a Content-Security-Policy that allows nothing.
 * An HTML page that sets its own policy keeps it.
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: API_CONTENT_SECURITY_POLICY,
    xFrameOptions: 'DENY',
    overwrite: false,
  });
}

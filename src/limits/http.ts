import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.ts';
import type { AppEnv } from '../http/env.ts';
import type { Limits } from './limits.ts';

/** Polled by probes and scrapers on their own schedule, often all from one address: never limited. */
const UNLIMITED_PATHS = new Set(['/healthz', '/metrics']);

/**
 * Counts every request against its caller's requests-per-minute limit (the caller is set before
 * this runs) and puts that limit's RateLimit-* headers on the response. A refusal on the GraphQL
 * endpoints is a GraphQL error response, so GraphQL clients find the code where they look for it.
 */
export function limitRequests(limits: Limits): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (UNLIMITED_PATHS.has(c.req.path)) return next();
    let headers: Record<string, string>;
    try {
      headers = await limits.countRequest(c.get('caller'));
    } catch (error) {
      if (!(error instanceof AppError) || !isGraphQLPath(c.req.path)) throw error;
      return c.json({ errors: [{ message: error.message, extensions: { code: error.code } }] }, error.status as 429, error.headers);
    }
    await next();
    // Set on the response as it is: c.header() would wrap a streamed response's body in a new Response.
    const responseHeaders = c.res.headers;
    // A refusal by another limit (streams, generations…) keeps the headers of the limit it hit.
    if (responseHeaders.has('RateLimit-Limit')) return;
    for (const [name, value] of Object.entries(headers)) responseHeaders.set(name, value);
  };
}

function isGraphQLPath(path: string): boolean {
  return path === '/graphql' || path.startsWith('/graphql/');
}

import type { MiddlewareHandler } from 'hono';
import { type Authenticator, unauthenticated } from '../auth/authenticator.ts';
import { type AppEnv, clientAddress } from './env.ts';

/** Routes anyone may call: load balancers and monitoring carry no credential. */
const PUBLIC_PATHS = new Set(['/healthz', '/metrics']);

/**
 * Browsers' EventSource cannot send headers, so the SSE routes also take the credential as
 * `?access_token=` (RFC 6750 §2.3). Request logs carry the path only, never the query.
 */
export const QUERY_TOKEN_ROUTES = /^\/conversations\/(inference|inference_internet)\/[^/]+$/;

/** Sets the request's caller (`c.get('caller')`) from its bearer credential, or refuses it with 401. */
export function authenticate(authenticator: Authenticator, options: { trustedProxyHops: number }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    const caller = await authenticator.authenticate(credentialOf(c), clientAddress(c, options.trustedProxyHops));
    c.set('caller', caller);
    return next();
  };
}

function credentialOf(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) {
      throw unauthenticated('Authorization must be "Bearer <API key or JWT>"');
    }
    return match[1];
  }
  if (QUERY_TOKEN_ROUTES.test(c.req.path)) return c.req.query('access_token') || undefined;
  return undefined;
}

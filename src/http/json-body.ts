import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.ts';

/**
 * Bodies are JSON: anything else is refused up front (415), rather than read as an empty object or
 * parsed as a form. For POST this is also what stops cross-site request forgery: a browser sends
 * a JSON POST to another origin only after a CORS preflight, while a form, `text/plain` or a body
 * without a type goes out with no preflight.
 */
export function requireJsonBody(methods: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    if (methods.includes(c.req.method)) {
      const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
      if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
      }
    }
    await next();
  };
}

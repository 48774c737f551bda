import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Caller } from '../services/caller.ts';

/** What the HTTP layer knows about a request once it is authenticated. */
export type AppEnv = {
  /** @hono/node-server's request and response (absent for requests made in-process). */
  Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse };
  Variables: { caller: Caller; requestId: string };
};

/**
 * The client's address: the peer's, or with `trustedProxyHops` proxies in front, the X-Forwarded-For entry
 * the outermost trusted proxy saw (entries further left are whatever the client chose to send).
 * `unknown` for a request made in-process (tests call `app.fetch`).
 */
export function clientAddress(c: Context<AppEnv>, trustedProxyHops: number): string {
  const peer = c.env?.incoming?.socket.remoteAddress ?? 'unknown';
  if (trustedProxyHops === 0) return peer;
  const forwarded = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return forwarded.at(-trustedProxyHops) ?? forwarded[0] ?? peer;
}

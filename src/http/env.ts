import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Caller } from '../auth/caller.ts';

/** What the HTTP layer knows about a request once it is authenticated. */
export type AppEnv = {
  /** @hono/node-server's request and response (absent for requests made in-process). */
  Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse };
  Variables: { caller: Caller };
};

/** The peer's address, or `unknown` for a request made in-process (tests call `app.fetch`). */
export function clientAddress(c: Context<AppEnv>): string {
  return c.env?.incoming?.socket.remoteAddress ?? 'unknown';
}

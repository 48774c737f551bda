import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';

/**
 * A response body that can write itself to Node's response, for bodies written piece by piece for a
 * long time (event streams): Hono's node adapter would read them through a web stream reader, a
 * promise hop per piece, where a `write` to the socket is all that is needed.
 */
export interface DirectBody {
  writeTo(outgoing: ServerResponse): void;
}

const isDirectBody = (body: unknown): body is DirectBody => typeof (body as Partial<DirectBody> | null)?.writeTo === 'function';

/**
 * `fetch` as the HTTP server calls it: a response with a DirectBody is written by its body, with the
 * headers every middleware set; the body writes at once (an event stream's `retry:` line).
 */
export function writingDirectBodies<Env extends { outgoing?: unknown }>(
  fetch: (request: Request, env: Env) => Response | Promise<Response>,
): (request: Request, env: Env) => Promise<Response> {
  return async (request, env) => {
    const response = await fetch(request, env);
    const { outgoing } = env;
    // Only streams are candidates: reading `body` is free for them, not for every response.
    if (!(outgoing instanceof ServerResponse) || !response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
    const { body } = response;
    if (!isDirectBody(body)) return response;
    // The headers leave with the body's first write: one packet, not two.
    outgoing.writeHead(response.status, Object.fromEntries(response.headers));
    body.writeTo(outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

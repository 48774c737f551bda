import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { drainedOrClosed } from './direct-body.ts';
import type { AppEnv } from './env.ts';

/**
 * The event streams (SSE responses: REST inference, graphql-sse) open on the server. On shutdown each
 * stream's source ends first (generations stopped, subscriptions completed), which sends its final
 * events; but some streams never end by themselves, such as graphql-sse's single-connection stream,
 * which outlives its operations, and an idle one would hold the server's close for the whole
 * SHUTDOWN_TIMEOUT_MS. `end` closes whatever is left.
 */
export function createEventStreams() {
  const open = new Set<ServerResponse>();
  const track: MiddlewareHandler<AppEnv> = async (c, next) => {
    await next();
    // Only with a real socket (requests made in-process have none).
    const outgoing = c.env?.outgoing;
    if (!outgoing || !c.res.headers.get('content-type')?.startsWith('text/event-stream')) return;
    // A client that left while its request was handled has nothing left to close.
    if (outgoing.destroyed) return;
    open.add(outgoing);
    outgoing.once('close', () => open.delete(outgoing));
  };
  return {
    track,
    /**
     * Closes every stream still open once what its source sent has reached the socket. The
     * connection is closed rather than the response ended: graphql-sse disposes of a stream (and its
     * 12 s ping timer, which would hold the process) only when its request is aborted.
     */
    end: async () => {
      await nextTurn();
      await Promise.all([...open].map(closeWhenFlushed));
    },
  };
}

/**
 * Final events travel from their source to the socket through promise continuations only: all of
 * them have run once the event loop turns.
 */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function closeWhenFlushed(outgoing: ServerResponse): Promise<void> {
  const { socket } = outgoing;
  // A slow client's last events may still be buffered here: they go first (or the client goes, or
  // SHUTDOWN_TIMEOUT_MS cuts every connection).
  while (socket && !socket.destroyed && socket.writableLength > 0) {
    await drainedOrClosed(socket);
    await nextTurn(); // what was waiting for the drain is written now
  }
  outgoing.destroy();
}

import { eventId, type InferenceEvent } from '../replies/events.ts';
import type { Listener } from '../replies/listener.ts';
import { conversationJson, usageJson } from './representation.ts';

const encoder = new TextEncoder();

export interface SseTiming {
  heartbeatMs: number;
  retryMs: number;
}

/**
 * The wire format of one event (documented in the README and the OpenAPI description). A token is an
 * unnamed event whose data is the token's raw text, as the seed API's original server sent it, so that an
 * EventSource's `onmessage` alone reassembles the reply: each line of the text is a `data:` line, which
 * the client joins with "\n" (a "\r" cannot be carried: SSE reads it as a line break). The other events
 * are named, with JSON data.
 */
export function formatEvent(event: InferenceEvent, replyId: string): string {
  const id = `id: ${eventId(replyId, event.position)}\n`;
  if (event.type === 'token') return `${id}${dataLines(event.text)}\n`;
  const data =
    event.type === 'sources'
      ? { sources: event.sources, error: event.error, query: event.query }
      : event.type === 'done'
        ? { conversation: conversationJson(event.conversation), usage: usageJson(event.usage) }
        : { code: event.code, detail: event.detail };
  return `${id}event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** One `data:` line per line of `text`; the space after the colon is the one a parser strips. */
function dataLines(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
}

/**
 * Streams events as Server-Sent Events. Events are read only as fast as the client takes them (the
 * listener's bounded queue absorbs the difference); a client that leaves cancels the stream, which
 * ends its listener. The stream opens with `retry: retryMs` (the client's reconnection delay); a comment
 * every `heartbeatMs` keeps proxies from closing a quiet stream.
 */
export function sseResponse(events: Listener, { heartbeatMs, retryMs }: SseTiming): Response {
  let heartbeat: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: ${retryMs}\n\n`));
      heartbeat = setInterval(() => controller.enqueue(encoder.encode(': heartbeat\n\n')), heartbeatMs);
    },
    async pull(controller) {
      const next = await events.next();
      if (next.done) {
        clearInterval(heartbeat);
        controller.close();
        return;
      }
      // Events that queued up while this client was being written to leave as one chunk: one socket
      // write instead of one per event when the server is busy, nothing held back when it is not.
      const text = [next.value, ...events.takeQueued()].map((event) => formatEvent(event, events.replyId)).join('');
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      clearInterval(heartbeat);
      await events.return?.();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

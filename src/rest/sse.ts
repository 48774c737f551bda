import { EventStreamBody, type EventTextSource } from '../http/direct-body.ts';
import { eventId, type InferenceEvent } from '../replies/events.ts';
import type { Listener } from '../replies/listener.ts';
import { conversationJson, usageJson } from './representation.ts';

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
 * Streams events as Server-Sent Events, read only as fast as the client takes them (the listener's
 * bounded queue absorbs the difference); a client that leaves ends the listener. The stream opens with
 * `retry: retryMs` (the client's reconnection delay); a comment every `heartbeatMs` keeps proxies from
 * closing a quiet stream.
 */
export function sseResponse(events: Listener, { heartbeatMs, retryMs }: SseTiming): Response {
  const source: EventTextSource = {
    async next() {
      const next = await events.next();
      if (next.done) return undefined;
      // Events that queued up while this client was being written to leave as one write: one socket
      // write instead of one per event when the server is busy, nothing held back when it is not.
      let text = formatEvent(next.value, events.replyId);
      for (const event of events.takeQueued()) text += formatEvent(event, events.replyId);
      return text;
    },
    stop: () => void events.return(),
  };
  const framing = { opening: `retry: ${retryMs}\n\n`, keepAlive: { text: ': heartbeat\n\n', everyMs: heartbeatMs } };
  return new Response(new EventStreamBody(source, framing), { headers: SSE_HEADERS });
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

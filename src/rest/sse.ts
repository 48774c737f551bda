import { eventId, type InferenceEvent } from '../replies/events.ts';
import type { Listener } from '../replies/listener.ts';
import { conversationJson, usageJson } from './representation.ts';

const encoder = new TextEncoder();

/** The wire format of one event (documented in the README and the OpenAPI description). */
export function formatEvent(event: InferenceEvent, replyId: string): string {
  const data =
    event.type === 'token'
      ? { text: event.text }
      : event.type === 'sources'
        ? { sources: event.sources, error: event.error, query: event.query }
        : event.type === 'done'
          ? { conversation: conversationJson(event.conversation), usage: usageJson(event.usage) }
          : { code: event.code, detail: event.detail };
  return `id: ${eventId(replyId, event.position)}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Streams events as Server-Sent Events. Events are read only as fast as the client takes them (the
 * listener's bounded queue absorbs the difference); a client that leaves cancels the stream, which
 * ends its listener. A comment every `heartbeatMs` keeps proxies from closing a quiet stream.
 */
export function sseResponse(events: Listener, heartbeatMs: number): Response {
  let heartbeat: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
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

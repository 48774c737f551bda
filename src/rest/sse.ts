import type { ServerResponse } from 'node:http';
import type { DirectBody } from '../http/direct-body.ts';
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
 * listener's bounded queue absorbs the difference); a client that leaves ends its listener. The stream
 * opens with `retry: retryMs` (the client's reconnection delay); a comment every `heartbeatMs` keeps
 * proxies from closing a quiet stream.
 */
export function sseResponse(events: Listener, timing: SseTiming): Response {
  return new Response(new EventStreamBody(events, timing), { headers: SSE_HEADERS });
}

/** Where the SSE text goes: a Node response, or a web stream's controller. */
interface SseSink {
  /** False when the text waits in memory: the next write waits for `drained`. */
  write(text: string): boolean;
  drained(): Promise<void>;
  end(): void;
}

/**
 * An event stream's body. Served over a socket, the HTTP server hands it Node's response (`writeTo`):
 * each event is one `write`, with no web stream, encoder or reader between the listener and the
 * socket. Read as a web stream otherwise (requests made in-process), from the same pump.
 */
export class EventStreamBody extends ReadableStream<Uint8Array> implements DirectBody {
  private pumping = false;
  /** The client left: nothing more is written. */
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: Listener,
    private readonly timing: SseTiming,
  ) {
    let waiting: (() => void) | undefined;
    super(
      {
        pull: (controller) => {
          if (!this.pumping) {
            void this.pump({
              write: (text) => {
                controller.enqueue(encoder.encode(text));
                return (controller.desiredSize ?? 0) > 0;
              },
              drained: () => new Promise((resolve) => (waiting = resolve)),
              end: () => controller.close(),
            });
          }
          waiting?.();
          waiting = undefined;
        },
        cancel: () => {
          this.stop();
          waiting?.();
        },
      },
      { highWaterMark: 1 },
    );
  }

  /** Writes the stream to `outgoing`, whose headers are sent already; a client that leaves ends it. */
  writeTo(outgoing: ServerResponse): void {
    outgoing.once('close', () => this.stop());
    void this.pump({
      write: (text) => outgoing.write(text),
      drained: () =>
        new Promise((resolve) => {
          const done = () => {
            outgoing.off('drain', done);
            outgoing.off('close', done);
            resolve();
          };
          outgoing.once('drain', done);
          outgoing.once('close', done);
        }),
      end: () => outgoing.end(),
    });
  }

  private async pump(sink: SseSink): Promise<void> {
    this.pumping = true;
    const { events, timing } = this;
    sink.write(`retry: ${timing.retryMs}\n\n`);
    this.heartbeat = setInterval(() => sink.write(': heartbeat\n\n'), timing.heartbeatMs);
    for (;;) {
      const next = await events.next();
      if (next.done || this.stopped) break;
      // Events that queued up while this client was being written to leave as one write: one socket
      // write instead of one per event when the server is busy, nothing held back when it is not.
      let text = formatEvent(next.value, events.replyId);
      for (const event of events.takeQueued()) text += formatEvent(event, events.replyId);
      if (!sink.write(text)) await sink.drained();
    }
    clearInterval(this.heartbeat);
    if (!this.stopped) sink.end();
  }

  private stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    void this.events.return();
  }
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

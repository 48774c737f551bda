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
 * headers every middleware set; the body writes at once (its opening), so they leave together.
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
    outgoing.writeHead(response.status, Object.fromEntries(response.headers));
    body.writeTo(outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

/** The text of an event stream, event by event. */
export interface EventTextSource {
  /** The next events' text, once there are some; undefined when the stream has ended. */
  next(): Promise<string | undefined>;
  /** The client left: no more is read. */
  stop(): void;
}

export interface EventStreamFraming {
  /** Written first, with the headers (a `retry:` field, or a comment that makes browsers show the stream). */
  opening: string;
  /** A comment written every `everyMs` so that proxies do not close a quiet stream. */
  keepAlive: { text: string; everyMs: number };
}

/** Where the text goes: a Node response, or a web stream's controller. */
interface Sink {
  /** False when the text waits in memory: the next write waits for `drained`. */
  write(text: string): boolean;
  drained(): Promise<void>;
  end(): void;
  /** The source failed: the client sees the stream break, not end. */
  fail(error: unknown): void;
}

const encoder = new TextEncoder();

/**
 * An event stream's body. Served over a socket, the HTTP server hands it Node's response (`writeTo`):
 * each piece of text is one `write`, with no web stream, encoder or reader between its source and the
 * socket. Read as a web stream otherwise (requests made in-process), from the same pump. The source is
 * read only as fast as the client takes the text; a client that leaves stops it.
 */
export class EventStreamBody extends ReadableStream<Uint8Array> implements DirectBody {
  private pumping = false;
  /** The client left: nothing more is written. */
  private stopped = false;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: EventTextSource,
    private readonly framing: EventStreamFraming,
  ) {
    let waiting: (() => void) | undefined;
    super(
      {
        pull: (controller) => {
          if (!this.pumping) {
            void this.pump({
              write: (text) => {
                controller.enqueue(encoder.encode(text));
                return false;
              },
              drained: () => new Promise((resolve) => (waiting = resolve)),
              end: () => controller.close(),
              fail: (error) => controller.error(error),
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
      // Nothing is read before a reader asks: a stream that fills its queue on its own would start the
      // pump even when the server writes the body to the socket instead.
      { highWaterMark: 0 },
    );
  }

  /** Writes the stream to `outgoing`, whose headers are set; a client that leaves stops it. */
  writeTo(outgoing: ServerResponse): void {
    // The client may have left while the request was being handled: its 'close' is past.
    if (outgoing.destroyed) {
      this.stop();
      return;
    }
    outgoing.once('close', () => this.stop());
    void this.pump({
      write: (text) => outgoing.write(text),
      drained: () => drainedOrClosed(outgoing),
      end: () => outgoing.end(),
      fail: (error) => outgoing.destroy(error instanceof Error ? error : new Error(String(error))),
    });
  }

  private async pump(sink: Sink): Promise<void> {
    this.pumping = true;
    const { opening, keepAlive } = this.framing;
    sink.write(opening);
    this.keepAlive = setInterval(() => sink.write(keepAlive.text), keepAlive.everyMs);
    try {
      for (;;) {
        const text = await this.source.next();
        if (text === undefined || this.stopped) break;
        if (!sink.write(text)) await sink.drained();
        if (this.stopped) break;
      }
      if (!this.stopped) sink.end();
    } catch (error) {
      // As Yoga's own event streams do: the response breaks off, and the source is let go.
      if (!this.stopped) {
        this.stop();
        sink.fail(error);
      }
    } finally {
      clearInterval(this.keepAlive);
    }
  }

  private stop() {
    this.stopped = true;
    clearInterval(this.keepAlive);
    this.source.stop();
  }
}

/** Resolves once `stream` has drained what it buffered, or has closed: whichever comes first. */
export function drainedOrClosed(stream: NodeJS.EventEmitter & { destroyed: boolean }): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

import { eventId, type InferenceEvent } from './events.ts';

/**
 * One listener's view of a reply: an async iterator fed by `push`. A listener that falls too far
 * behind (a slow client) is ended with a SLOW_CONSUMER error rather than buffering without bound; an
 * SSE client resumes where it stopped with Last-Event-ID. `replyId` is the reply every event belongs to.
 */
export class Listener implements AsyncIterableIterator<InferenceEvent> {
  private queue: InferenceEvent[] = [];
  private wake: (() => void) | undefined;
  private ending = false;
  private closed = false;
  private readonly whenClosed: (() => void)[] = [];

  constructor(
    readonly replyId: string,
    private readonly maxQueued: number,
    private readonly onClose: (listener: Listener) => void = () => {},
  ) {}

  push(event: InferenceEvent): void {
    if (this.ending || this.closed) return;
    if (this.queue.length >= this.maxQueued) {
      // The position the client has everything up to: the start of the first event it never got.
      const first = this.queue[0] ?? event;
      const resumeAfter =
        first.type === 'token' ? first.position - first.text.length : first.type === 'sources' ? first.position : first.position - 1;
      this.queue = [
        {
          type: 'error',
          position: resumeAfter,
          code: 'SLOW_CONSUMER',
          detail: `The client read too slowly; reconnect with Last-Event-ID ${eventId(this.replyId, resumeAfter)} to resume`,
        },
      ];
      this.ending = true;
    } else {
      this.queue.push(event);
      this.ending = event.type === 'done' || event.type === 'error';
    }
    this.wake?.();
  }

  /** Every event already waiting, without waiting for more (the SSE writer sends them as one chunk). */
  takeQueued(): InferenceEvent[] {
    const queued = this.queue;
    this.queue = [];
    return queued;
  }

  async next(): Promise<IteratorResult<InferenceEvent>> {
    for (;;) {
      const event = this.queue.shift();
      if (event) return { value: event, done: false };
      if (this.ending || this.closed) {
        this.close();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<InferenceEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Calls `callback` once this listener is closed (its stream ended or its client left); at once if it is already. */
  onClosed(callback: () => void): void {
    if (this.closed) callback();
    else this.whenClosed.push(callback);
  }

  private close() {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.wake?.();
    this.onClose(this);
    for (const callback of this.whenClosed) callback();
  }
}

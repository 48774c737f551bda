import { describe, expect, it } from 'vitest';
import type { InferenceEvent } from '../../src/replies/events.ts';
import { Listener } from '../../src/replies/listener.ts';

const REPLY = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

async function drain(listener: Listener): Promise<InferenceEvent[]> {
  const events: InferenceEvent[] = [];
  for await (const event of listener) events.push(event);
  return events;
}

describe('Listener', () => {
  it('delivers events in order and ends after the final one', async () => {
    const listener = new Listener(REPLY, 10);
    listener.push({ type: 'token', position: 2, text: 'Hi' });
    listener.push({ type: 'error', position: 3, code: 'UPSTREAM_ERROR', detail: 'x' });
    listener.push({ type: 'token', position: 5, text: 'late' });
    expect((await drain(listener)).map((event) => event.position)).toEqual([2, 3]);
  });

  it.each([
    ['tokens', [{ type: 'token', position: 7, text: 'abc' }] as InferenceEvent[], 4],
    ['the sources of a resumed stream', [{ type: 'sources', position: 9, query: 'q', sources: [], error: null }] as InferenceEvent[], 9],
  ])(
    'ends a listener too far behind with SLOW_CONSUMER, resuming where its oldest unread event (%s) starts',
    async (_case, unread, resumeAfter) => {
      const listener = new Listener(REPLY, unread.length + 1);
      for (const event of unread) listener.push(event);
      listener.push({ type: 'token', position: 12, text: 'def' });
      listener.push({ type: 'token', position: 15, text: 'ghi' });
      expect(await drain(listener)).toEqual([
        {
          type: 'error',
          position: resumeAfter,
          code: 'SLOW_CONSUMER',
          detail: `The client read too slowly; reconnect with Last-Event-ID ${REPLY}.${resumeAfter} to resume`,
        },
      ]);
    },
  );
});

describe('Listener.takeQueued', () => {
  it('hands over everything waiting at once, and the listener still ends after the final event', async () => {
    const listener = new Listener(REPLY, 10);
    listener.push({ type: 'token', position: 1, text: 'a' });
    listener.push({ type: 'token', position: 2, text: 'b' });
    listener.push({ type: 'error', position: 3, code: 'ABANDONED', detail: 'x' });
    expect((await listener.next()).value).toMatchObject({ position: 1 });
    expect(listener.takeQueued().map((event) => event.position)).toEqual([2, 3]);
    expect(listener.takeQueued()).toEqual([]);
    expect(await listener.next()).toEqual({ value: undefined, done: true });
  });
});

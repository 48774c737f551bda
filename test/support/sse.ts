import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  /** The wire id, `<reply id>.<position>`. */
  id: string;
  /** The position in the reply that the id names. */
  position: number;
  /** `message` for a token (an unnamed event), else the event's name. */
  event: string;
  /** The data as sent: a token's text, or a named event's JSON. */
  text: string;
  /** A named event's data, parsed; empty for a token. */
  data: Record<string, unknown>;
}

/** The events of an SSE response body as they arrive; breaking out of the loop hangs up. */
export async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(value);
      while (pending.length > 0) {
        const message = pending.shift()!;
        const id = message.id ?? '';
        const event = message.event ?? 'message';
        const data = event === 'message' ? {} : JSON.parse(message.data);
        yield { id, position: Number(id.split('.')[1]), event, text: message.data, data };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Every event of an SSE response, until the server ends it. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(response)) events.push(event);
  return events;
}

export const tokensOf = (events: SseEvent[]) =>
  events
    .filter((event) => event.event === 'message')
    .map((event) => event.text)
    .join('');

/**
 * Timestamps that cross processes inside token texts. Every process measures from the same wall-clock
 * origin (BENCH_EPOCH_MS, set once by the orchestrator) with its own monotonic clock; a constant
 * offset between two processes' origins cancels out in "gateway minus relay".
 */
const EPOCH_MS = Number(process.env.BENCH_EPOCH_MS ?? 0);

/** A `performance.now()` of this process as microseconds since the benchmark's epoch. */
export function epochMicros(now = performance.now()): number {
  return Math.round((performance.timeOrigin + now - EPOCH_MS) * 1000);
}

/** `|<sent>`, or `|<sent>~<received>` for a stream's first token; base 36 keeps it token-sized. */
export function stamp(sentMicros: number, receivedMicros?: number): string {
  return `|${sentMicros.toString(36)}${receivedMicros === undefined ? '' : `~${receivedMicros.toString(36)}`}`;
}

export interface TokenStamp {
  sent: number;
  /** When the stand-in received the request (first token only). */
  received?: number;
}

/** The stamps in a token's text: several when the gateway sent tokens merged into one event. */
export function readStamps(text: string): TokenStamp[] {
  return text
    .split('|')
    .slice(1)
    .map((part) => {
      const [sent, received] = part.split('~');
      return { sent: parseInt(sent!, 36), received: received === undefined ? undefined : parseInt(received, 36) };
    });
}

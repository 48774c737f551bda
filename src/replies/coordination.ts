import type { InferenceEvent } from './events.ts';

/** The generation that holds a flight (one question, one kind): which reply, on which instance. */
export interface FlightHolder {
  replyId: string;
  instanceId: string;
}

/** What asking for a flight gave: it is ours, someone holds it, or nobody can tell (Redis is down). */
export type FlightClaim = { claimed: true } | { claimed: false; holder: FlightHolder | null } | { claimed: 'unavailable' };

/** Where a generation's events go for listeners on other instances. */
export interface ReplyPublisher {
  push(event: InferenceEvent): void;
}

/**
 * What instances share about replies (implemented over Redis): one generation per flight across
 * instances, each reply's events for listeners elsewhere, and the signals between instances (stop a
 * generation, "someone here still listens to it"). Every method fails soft when the shared store is
 * down, except `requestStop`, which says so.
 */
export interface ReplyCoordinator {
  readonly instanceId: string;
  readonly available: boolean;
  /** Takes `flight` for `replyId` unless a live generation holds it, under a lease the renewals extend. */
  claim(flight: string, replyId: string): Promise<FlightClaim>;
  /** The generation holding `flight`, if any (null too when that cannot be read). */
  holder(flight: string): Promise<FlightHolder | null>;
  /** Frees `flight` if `holder` still holds it (a finished generation, or a dead one whose reply is settled). */
  release(flight: string, holder: FlightHolder): Promise<void>;
  /** Extends the leases of this instance's running generations (and takes back any that Redis lost). */
  renew(flights: readonly { flight: string; replyId: string }[]): Promise<void>;
  /** A publisher for a reply generated here; `snapshot` is the whole reply so far, sent after an outage. */
  publisher(replyId: string, snapshot: () => InferenceEvent[]): ReplyPublisher;
  /**
   * Calls `onEvents` with the events of a reply generated elsewhere as they are published, and returns
   * those published before (`backlog`); `close` stops. Rejects when the shared store is unavailable.
   */
  subscribe(replyId: string, onEvents: (events: InferenceEvent[]) => void): Promise<{ close(): void }>;
  /** Every event of a reply published so far (empty once its stream expired). */
  backlog(replyId: string): Promise<InferenceEvent[]>;
  /** Tells whichever instance generates `replyId` to stop it. Throws REDIS_UNAVAILABLE when it cannot. */
  requestStop(replyId: string): Promise<void>;
  /** Announces, until the returned function is called, that a listener here follows `replyId`. */
  watch(replyId: string): () => void;
  /** Whether a listener on another instance followed `replyId` recently. */
  watchedElsewhere(replyId: string): boolean;
  /** Called when another instance asks to stop a reply (which may or may not run here). */
  onStopRequest(handler: (replyId: string) => void): void;
  close(): Promise<void>;
}

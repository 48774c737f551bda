import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { FlightClaim, FlightHolder, ReplyCoordinator, ReplyPublisher } from '../replies/coordination.ts';
import type { InferenceEvent } from '../replies/events.ts';
import { type RedisConnection, redisCodec, type Subscription } from './connection.ts';

/** Extends a lease that is still ours, or takes it back if Redis lost it (a restart); 0 if another holds it. */
const RENEW = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

type ControlMessage = { type: 'stop'; replyId: string } | { type: 'watching'; replyIds: string[] };

export interface RedisReplyCoordinatorOptions {
  instanceId: string;
  /** Lease of a flight: a generation that stops renewing (its instance died) loses it after this. */
  leaseMs: number;
  /** How often this instance says which remote replies it follows. */
  watchIntervalMs: number;
  /** Events are published at most this far apart, all replies' in one write. */
  batchMs: number;
  /** How long a reply's stream outlives its last event. */
  retentionMs: number;
}

/**
 * Replies across instances over Redis. Keys (hash-tagged, one slot per command):
 * `<prefix>:flight:{<question>:<kind>}` holds `<reply> <instance>` under a lease;
 * `<prefix>:reply:{<reply>}:events` is the reply's Redis stream, one entry per published batch,
 * expiring `retentionMs` after its last write. Channels: `<prefix>:reply:<reply>` carries each batch
 * as it is added (listeners elsewhere read the stream once, then follow the channel);
 * `<prefix>:control` carries stop requests and "still watching" notes.
 */
export class RedisReplyCoordinator implements ReplyCoordinator {
  private readonly dirty = new Set<StreamPublisher>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly watched = new Map<string, number>();
  private readonly watchedRemotely = new Map<string, number>();
  private readonly watchTimer: NodeJS.Timeout;
  private stopHandler: (replyId: string) => void = () => {};
  private readonly controlChannel: string;
  private readonly control: Subscription;
  private closed = false;

  constructor(
    readonly redis: RedisConnection,
    private readonly options: RedisReplyCoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.controlChannel = redis.channel('control');
    this.control = redis.subscribe(this.controlChannel, (message) => this.onControl(message));
    this.watchTimer = setInterval(() => this.announceWatching(), options.watchIntervalMs).unref();
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  get available(): boolean {
    return this.redis.available;
  }

  async claim(flight: string, replyId: string): Promise<FlightClaim> {
    if (!this.available) return { claimed: 'unavailable' };
    try {
      const key = this.flightKey(flight);
      const taken = await this.redis.command.set(key, `${replyId} ${this.instanceId}`, 'PX', this.options.leaseMs, 'NX');
      if (taken === 'OK') return { claimed: true };
      return { claimed: false, holder: parseHolder(await this.redis.command.get(key)) };
    } catch (error) {
      this.logger.warn({ err: error, flight }, 'single flight across instances unavailable: generating here');
      return { claimed: 'unavailable' };
    }
  }

  async holder(flight: string): Promise<FlightHolder | null> {
    if (!this.available) return null;
    return parseHolder(await this.redis.command.get(this.flightKey(flight)).catch(() => null));
  }

  async release(flight: string, holder: FlightHolder): Promise<void> {
    if (!this.available) return; // the lease lapses by itself
    await this.redis
      .deleteIfEquals(this.flightKey(flight), `${holder.replyId} ${holder.instanceId}`)
      .catch((error: unknown) => this.logger.warn({ err: error, flight }, 'releasing a flight failed; its lease will lapse'));
  }

  async renew(flights: readonly { flight: string; replyId: string }[]): Promise<void> {
    if (!this.available || flights.length === 0) return;
    // Issued in one tick: auto-pipelining sends them as one write.
    await Promise.all(
      flights.map(async ({ flight, replyId }) => {
        const renewed = await this.redis.command
          .eval(RENEW, 1, this.flightKey(flight), `${replyId} ${this.instanceId}`, this.options.leaseMs)
          .catch(() => null);
        if (renewed === 0) this.logger.warn({ flight, replyId }, 'another instance took the flight of a reply generated here');
      }),
    );
  }

  publisher(replyId: string, snapshot: () => InferenceEvent[]): ReplyPublisher {
    return new StreamPublisher(replyId, snapshot, (publisher) => this.markDirty(publisher));
  }

  async subscribe(replyId: string, onEvents: (events: InferenceEvent[]) => void): Promise<{ close(): void }> {
    if (!this.available) throw new AppError('REDIS_UNAVAILABLE', 'Redis is unavailable');
    const subscription = this.redis.subscribe(this.replyChannel(replyId), (message) => onEvents(redisCodec.parse(message)));
    // Redis going down right now would hold the confirmation until it is back: the caller reads the store meanwhile.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new AppError('REDIS_UNAVAILABLE', 'Redis did not confirm the subscription')), this.options.leaseMs);
    });
    try {
      await Promise.race([subscription.ready, timedOut]);
    } catch (error) {
      subscription.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return subscription;
  }

  async backlog(replyId: string): Promise<InferenceEvent[]> {
    const entries = await this.redis.command.xrange(this.streamKey(replyId), '-', '+');
    return entries.flatMap(([, fields]) => redisCodec.parse<InferenceEvent[]>(fields[1]!));
  }

  async requestStop(replyId: string): Promise<void> {
    const unavailable = () =>
      new AppError('REDIS_UNAVAILABLE', 'The reply is generated by another instance, which cannot be reached while Redis is unavailable');
    if (!this.available) throw unavailable();
    const message: ControlMessage = { type: 'stop', replyId };
    await this.redis.command.publish(this.controlChannel, JSON.stringify(message)).catch((error: unknown) => {
      throw new AppError('REDIS_UNAVAILABLE', unavailable().message, { cause: error });
    });
  }

  watch(replyId: string): () => void {
    const first = !this.watched.has(replyId);
    this.watched.set(replyId, (this.watched.get(replyId) ?? 0) + 1);
    // Said at once, so that a generation in its grace period hears of this listener before it gives up.
    if (first) this.publishControl({ type: 'watching', replyIds: [replyId] });
    return () => {
      const count = (this.watched.get(replyId) ?? 1) - 1;
      if (count > 0) this.watched.set(replyId, count);
      else this.watched.delete(replyId);
    };
  }

  watchedElsewhere(replyId: string): boolean {
    return (this.watchedRemotely.get(replyId) ?? 0) > Date.now();
  }

  onStopRequest(handler: (replyId: string) => void): void {
    this.stopHandler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchTimer);
    clearTimeout(this.flushTimer);
    await this.flush();
    this.control.close();
  }

  private onControl(text: string) {
    const message = JSON.parse(text) as ControlMessage;
    if (message.type === 'stop') {
      this.stopHandler(message.replyId);
    } else {
      // Kept for two announcement intervals: one lost note does not end a generation others follow.
      const until = Date.now() + 2 * this.options.watchIntervalMs;
      for (const replyId of message.replyIds) this.watchedRemotely.set(replyId, until);
      if (this.watchedRemotely.size > 1_000) {
        for (const [replyId, expires] of this.watchedRemotely) if (expires < Date.now()) this.watchedRemotely.delete(replyId);
      }
    }
  }

  private announceWatching() {
    if (this.watched.size > 0) this.publishControl({ type: 'watching', replyIds: [...this.watched.keys()] });
  }

  private publishControl(message: ControlMessage) {
    if (!this.available) return;
    this.redis.command.publish(this.controlChannel, JSON.stringify(message)).catch(() => {});
  }

  private markDirty(publisher: StreamPublisher) {
    this.dirty.add(publisher);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.options.batchMs);
  }

  /** Publishes every reply's pending events: commands of one tick, sent by auto-pipelining as one write. */
  private async flush(): Promise<void> {
    if (!this.available) {
      // Kept until Redis is back; the first batch then is the whole reply so far.
      for (const publisher of this.dirty) publisher.failed = true;
      if (this.dirty.size > 0 && !this.closed) {
        this.flushTimer ??= setTimeout(() => {
          this.flushTimer = undefined;
          void this.flush();
        }, 250);
      }
      return;
    }
    const batch = [...this.dirty];
    this.dirty.clear();
    await Promise.all(batch.map((publisher) => this.publish(publisher)));
  }

  private async publish(publisher: StreamPublisher): Promise<void> {
    const events = publisher.take();
    const payload = redisCodec.stringify(events);
    const key = this.streamKey(publisher.replyId);
    try {
      await Promise.all([
        this.redis.command.xadd(key, '*', 'e', payload),
        this.redis.command.pexpire(key, this.options.retentionMs),
        this.redis.command.publish(this.replyChannel(publisher.replyId), payload),
      ]);
    } catch (error) {
      this.logger.warn({ err: error, replyId: publisher.replyId }, 'publishing reply events failed; will send the whole reply');
      publisher.failed = true;
      if (!this.closed) this.markDirty(publisher);
    }
  }

  private flightKey(flight: string) {
    return this.redis.key('flight', flight);
  }

  private streamKey(replyId: string) {
    return this.redis.key('reply', replyId, ':events');
  }

  private replyChannel(replyId: string) {
    return this.redis.channel(`reply:${replyId}`);
  }
}

/**
 * The pending events of one reply. Consecutive tokens merge into one event (positions stay exact):
 * a listener elsewhere gets the same text in fewer events.
 */
class StreamPublisher implements ReplyPublisher {
  private pending: InferenceEvent[] = [];
  /** A batch was lost: the next one is the whole reply so far, so the stream has no hole. */
  failed = false;

  constructor(
    readonly replyId: string,
    private readonly snapshot: () => InferenceEvent[],
    private readonly onDirty: (publisher: StreamPublisher) => void,
  ) {}

  push(event: InferenceEvent): void {
    const last = this.pending.at(-1);
    if (event.type === 'token' && last?.type === 'token') {
      this.pending[this.pending.length - 1] = { type: 'token', position: event.position, text: last.text + event.text };
    } else {
      this.pending.push(event);
    }
    this.onDirty(this);
  }

  take(): InferenceEvent[] {
    const events = this.failed ? this.snapshot() : this.pending;
    this.pending = [];
    this.failed = false;
    return events;
  }
}

function parseHolder(value: string | null): FlightHolder | null {
  const [replyId, instanceId] = value?.split(' ') ?? [];
  return replyId && instanceId ? { replyId, instanceId } : null;
}

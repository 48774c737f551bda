import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config.ts';
import type { Logger } from '../logger.ts';

/** Deletes the key only while it holds the given value. */
const DELETE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** A command that Redis has not answered by then fails, so that a hung Redis cannot hold a request. */
const COMMAND_TIMEOUT_MS = 2_000;
/** Reconnect attempts back off from 50 ms to this, and never stop. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * The two connections an instance keeps to Redis: one for commands, one subscribed to channels (a
 * subscribed connection can do nothing else). Both reconnect by themselves, forever; while the command
 * connection is down its commands fail at once (no offline queue), so callers fall back to what they
 * can do alone instead of waiting. Keys and channels are named here, under the configured prefix, with a
 * hash tag on what each key is about, so every command and script touches one Redis Cluster slot.
 */
export class RedisConnection {
  readonly command: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  /** SUBSCRIBE commands not confirmed yet, by channel: a second subscriber of the channel waits for the same. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private wasAvailable = false;
  private closing = false;

  constructor(
    private readonly config: RedisConfig,
    private readonly logger: Logger,
  ) {
    const options: RedisOptions = {
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
      // Commands issued in one tick leave as one write (the batched reply events and lease renewals).
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectionName: 'chat-gateway',
    };
    this.command = new Redis(config.url, options);
    // Subscriptions are remade by ioredis after a reconnect (autoResubscribe); a SUBSCRIBE asked while
    // it is down waits for the connection rather than failing.
    this.subscriber = new Redis(config.url, {
      ...options,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
    });
    for (const [role, client] of [
      ['commands', this.command],
      ['subscriptions', this.subscriber],
    ] as const) {
      client.on('error', (error: Error) => this.logger.debug({ err: error, connection: role }, 'redis connection error'));
      client.on('ready', () => this.noteAvailability());
      client.on('close', () => this.noteAvailability());
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
  }

  /** Both connections are up: what crosses instances works. */
  get available(): boolean {
    return this.command.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** `<prefix>:<kind>:{<tag>}<suffix>`: the hash tag puts every key about one thing in one Cluster slot. */
  key(kind: string, tag: string, suffix = ''): string {
    return `${this.config.keyPrefix}:${kind}:{${tag}}${suffix}`;
  }

  /** Deletes `key` if it still holds `value` (a claim or lock of ours, not one taken since by someone else). */
  async deleteIfEquals(key: string, value: string): Promise<void> {
    await this.command.eval(DELETE_IF_EQUALS, 1, key, value);
  }

  /** A channel name under the prefix (channels are not keys: Cluster broadcasts them). */
  channel(name: string): string {
    return `${this.config.keyPrefix}:${name}`;
  }

  /**
   * Calls `handler` with every message on `channel` until `close`; `ready` resolves once Redis confirmed
   * the subscription (which waits for a reconnect while Redis is down, and survives later ones).
   */
  subscribe(channel: string, handler: (message: string) => void): Subscription {
    let handlers = this.handlers.get(channel);
    let ready: Promise<unknown> = Promise.resolve();
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(channel, handlers);
      ready = this.subscriber.subscribe(channel);
      this.pending.set(channel, ready);
      void ready.finally(() => this.pending.get(channel) === ready && this.pending.delete(channel)).catch(() => {});
    } else {
      ready = this.pending.get(channel) ?? ready;
    }
    handlers.add(handler);
    const registered = handlers;
    const confirmed = ready.then(() => undefined);
    // Subscriptions for the life of the process are not awaited: a refusal at shutdown must not crash it.
    confirmed.catch((error: unknown) => this.logger.debug({ err: error, channel }, 'subscription not confirmed'));
    return {
      ready: confirmed,
      close: () => {
        registered.delete(handler);
        if (registered.size > 0 || this.handlers.get(channel) !== registered) return;
        this.handlers.delete(channel);
        this.subscriber.unsubscribe(channel).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    // A polite QUIT, but not waiting for a Redis that does not answer: shutdown must end.
    const quit = Promise.allSettled([this.command.quit(), this.subscriber.quit()]);
    await Promise.race([quit, new Promise((resolve) => setTimeout(resolve, COMMAND_TIMEOUT_MS).unref())]);
    this.command.disconnect();
    this.subscriber.disconnect();
  }

  private noteAvailability() {
    const available = this.available;
    if (available === this.wasAvailable || this.closing) return;
    this.wasAvailable = available;
    if (available) this.logger.info('redis available: instances share their work');
    else this.logger.warn('redis unavailable: each instance works on its own until it is back (reconnecting)');
  }
}

export interface Subscription {
  ready: Promise<void>;
  close(): void;
}

/**
 * JSON that keeps what Prisma rows and events carry beyond JSON: BigInt (`seq`) and Date. Tagged
 * objects use a key no stored JSON column of ours has.
 */
export const redisCodec = {
  stringify(value: unknown): string {
    return JSON.stringify(value, function (this: Record<string, unknown>, key, replaced: unknown) {
      const original = this[key];
      if (typeof original === 'bigint') return { $cgBigInt: original.toString() };
      if (original instanceof Date) return { $cgDate: original.toISOString() };
      return replaced;
    });
  },
  parse<T>(text: string): T {
    return JSON.parse(text, (_key, value: unknown) => {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const tagged = value as { $cgBigInt?: string; $cgDate?: string };
        if (typeof tagged.$cgBigInt === 'string') return BigInt(tagged.$cgBigInt);
        if (typeof tagged.$cgDate === 'string') return new Date(tagged.$cgDate);
      }
      return value;
    }) as T;
  },
};

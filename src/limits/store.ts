import { type RateLimiterAbstract, RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * Where the limits keep their counts. In this process by default; a store backed by Redis
 * (rate-limiter-flexible's RateLimiterRedis for the windows, leases for the slots) shares them
 * across instances without changing anything else.
 */
export interface LimitStore {
  /**
   * Counts points per key in fixed windows of `duration` seconds, each starting with the key's first
   * point (rate-limiter-flexible's model: `consume` refuses beyond `points`, `penalty` adds without
   * refusing, `get` reads).
   */
  window(options: { keyPrefix: string; points: number; duration: number }): RateLimiterAbstract;
  /** Counts what each key holds at once (open streams), up to `max`. */
  slots(options: { keyPrefix: string; max: number }): SlotCounter;
}

export interface SlotCounter {
  /** Takes one of `key`'s slots; false, taking nothing, when all are in use. */
  take(key: string): Promise<boolean>;
  /** Gives back a slot that `take` gave. */
  give(key: string): Promise<void>;
}

export const memoryLimitStore: LimitStore = {
  window: (options) => new RateLimiterMemory(options),
  slots: ({ max }) => {
    const held = new Map<string, number>();
    return {
      take: async (key) => {
        const count = held.get(key) ?? 0;
        if (count >= max) return false;
        held.set(key, count + 1);
        return true;
      },
      give: async (key) => {
        const count = held.get(key) ?? 0;
        // Keys at zero are dropped: one entry per client with a stream open, not per client ever seen.
        if (count <= 1) held.delete(key);
        else held.set(key, count - 1);
      },
    };
  },
};

import { randomUUID } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { LimitStore, SlotCounter } from '../limits/store.ts';
import type { RedisConnection } from './connection.ts';

/** A slot not renewed for this long belongs to an instance that died: it no longer counts. */
const SLOT_LEASE_MS = 90_000;

/**
 * Takes a slot unless `max` live ones are held: slots are members of a sorted set scored by when
 * they were last renewed, and lapsed ones are dropped first. Redis' clock decides, not an instance's.
 */
const TAKE_SLOT = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

const RENEW_SLOT = `
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])`;

/**
 * The limits' counts in Redis, shared by every instance: rate-limiter-flexible's RateLimiterRedis for
 * the windows (with an in-process limiter as insurance, so that a Redis outage counts per instance
 * instead of refusing everyone), and leased slots for open streams, renewed by the instance holding
 * them, so that a dead instance's streams stop counting within SLOT_LEASE_MS. While Redis is down a slot
 * is granted (counting per instance would need the other instances' slots): streams are not refused
 * for Redis' sake.
 */
export function redisLimitStore(redis: RedisConnection): LimitStore & { close(): void } {
  const renewals: (() => void)[] = [];
  const timers: NodeJS.Timeout[] = [];
  return {
    window: ({ keyPrefix, points, duration }) =>
      new RateLimiterRedis({
        storeClient: redis.command,
        keyPrefix: redis.key('limit', keyPrefix),
        points,
        duration,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
      }),
    slots: ({ keyPrefix, max }): SlotCounter => {
      /** The slots this instance holds, by client key (members of that key's set). */
      const held = new Map<string, string[]>();
      const setKey = (key: string) => redis.key('slots', `${keyPrefix}:${key}`);
      const renew = () => {
        for (const [key, members] of held) {
          for (const member of members) void redis.command.eval(RENEW_SLOT, 1, setKey(key), member, SLOT_LEASE_MS).catch(() => {});
        }
      };
      renewals.push(renew);
      if (timers.length === 0) {
        const renewAll = () => {
          for (const run of renewals) run();
        };
        timers.push(setInterval(renewAll, SLOT_LEASE_MS / 3).unref());
      }
      return {
        take: async (key) => {
          const member = randomUUID();
          try {
            const taken = await redis.command.eval(TAKE_SLOT, 1, setKey(key), max, SLOT_LEASE_MS, member);
            if (taken !== 1) return false;
          } catch {
            // Redis is down: the stream is not refused for it (and this slot is not tracked).
            return true;
          }
          held.set(key, [...(held.get(key) ?? []), member]);
          return true;
        },
        give: async (key) => {
          const members = held.get(key);
          const member = members?.pop();
          if (!member) return;
          if (members!.length === 0) held.delete(key);
          await redis.command.zrem(setKey(key), member).catch(() => {});
        },
      };
    },
    close: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}

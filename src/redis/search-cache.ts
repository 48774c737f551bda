import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import { SearchError, type Source } from '../upstream/search.ts';
import type { RedisConnection } from './connection.ts';

/** How often an instance waiting for another's search looks for its result. */
const POLL_MS = 100;

/** Sources with how much longer they may be reused. */
export interface CachedSources {
  sources: Source[];
  ttlMs: number;
}

/**
 * The search cache shared by every instance (SerpAPI bills per search): results under a key per query
 * for `ttlMs`, and a claim while one instance searches, so that the same query asked elsewhere waits
 * for that search instead of paying for its own. Failures are not shared: the claim is dropped and a
 * waiter makes the next attempt. While Redis is unavailable each instance searches on its own.
 */
export class SharedSearchCache {
  constructor(
    private readonly redis: RedisConnection,
    private readonly options: { ttlMs: number; timeoutMs: number; instanceId: string },
    private readonly logger: Logger,
  ) {}

  async get(query: string, search: () => Promise<Source[]>): Promise<CachedSources> {
    const { ttlMs, timeoutMs, instanceId } = this.options;
    const tag = createHash('sha256').update(query).digest('base64url');
    const resultKey = this.redis.key('search', tag, ':result');
    const claimKey = this.redis.key('search', tag, ':searching');
    // A claim outlives the search's own timeout a little, so that a crashed searcher frees it.
    const deadline = Date.now() + timeoutMs + 1_000;
    while (Date.now() < deadline) {
      let claimed: boolean;
      try {
        const [cached, remainingMs] = await Promise.all([this.redis.command.get(resultKey), this.redis.command.pttl(resultKey)]);
        if (cached !== null && remainingMs > 0) return { sources: JSON.parse(cached) as Source[], ttlMs: remainingMs };
        claimed = (await this.redis.command.set(claimKey, instanceId, 'PX', timeoutMs + 1_000, 'NX')) === 'OK';
      } catch (error) {
        this.logger.warn({ err: error }, 'shared search cache unavailable: searching without it');
        return { sources: await search(), ttlMs };
      }
      if (claimed) {
        try {
          const sources = await search();
          await this.redis.command.set(resultKey, JSON.stringify(sources), 'PX', ttlMs).catch((error: unknown) => {
            this.logger.warn({ err: error }, 'a search result could not be shared');
          });
          return { sources, ttlMs };
        } finally {
          await this.redis.deleteIfEquals(claimKey, instanceId).catch(() => {});
        }
      }
      await sleep(POLL_MS);
    }
    throw new SearchError('SEARCH_TIMEOUT', 'another instance searched for this query and gave no result in time');
  }
}

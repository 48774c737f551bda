import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitsConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Caller } from '../services/caller.ts';
import { type LimitStore, memoryLimitStore, type SlotCounter } from './store.ts';

const MINUTE_SECONDS = 60;
const DAY_SECONDS = 24 * 60 * 60;

/**
 * Retry-After for a client whose stream slots are all in use: one frees as soon as one of its own
 * streams ends, which the gateway cannot foresee.
 */
const STREAM_RETRY_SECONDS = 1;

/**
 * Characters per token when the model reports no usage (a stream cut short, a server that sends
 * none): English text averages about four characters per token in the usual BPE vocabularies.
 */
const CHARS_PER_TOKEN = 4;

/** A limit counted in fixed windows; `unit` names what is counted, for the client's error message. */
interface WindowLimit {
  /** The limit's name in metrics: requests, generations, completion_tokens, searches. */
  name: string;
  counter: RateLimiterAbstract;
  points: number;
  unit: string;
}

/** What a reply cost, as stored once its generation ended. */
export interface FinishedReply {
  completionTokens: number | null;
  message: string;
}

/**
 * Per-client limits on what costs money or capacity: requests, generation starts, open streams,
 * completion tokens and web searches. Everything counts against `Caller.limitKey` (the owner, or
 * the IP address of an anonymous caller); admins are exempt when so configured. A refusal is an
 * AppError RATE_LIMITED carrying Retry-After and the RateLimit-* headers of the limit it hit.
 */
export class Limits {
  private readonly requests: WindowLimit | null;
  private readonly generations: WindowLimit | null;
  private readonly completionTokens: WindowLimit | null;
  private readonly searches: WindowLimit | null;
  private readonly streams: { slots: SlotCounter; max: number } | null;

  constructor(
    private readonly config: LimitsConfig,
    private readonly logger: Logger,
    /** Told of every refusal, by the limit's name (for metrics). */
    private readonly onRefused: (limit: string) => void = () => {},
    store: LimitStore = memoryLimitStore,
  ) {
    const window = (keyPrefix: string, points: number | null, duration: number, unit: string): WindowLimit | null =>
      points === null ? null : { name: keyPrefix, counter: store.window({ keyPrefix, points, duration }), points, unit };
    this.requests = window('requests', config.requestsPerMinute, MINUTE_SECONDS, 'requests per minute');
    this.generations = window('generations', config.generationsPerMinute, MINUTE_SECONDS, 'generations started per minute');
    this.completionTokens = window('completion-tokens', config.completionTokensPerDay, DAY_SECONDS, 'completion tokens per 24 hours');
    this.searches = window('searches', config.searchesPerDay, DAY_SECONDS, 'web searches per 24 hours');
    const max = config.concurrentStreams;
    this.streams = max === null ? null : { slots: store.slots({ keyPrefix: 'streams', max }), max };
  }

  /**
   * Counts one request of `caller`: the RateLimit-* headers for its response (none when requests
   * are not limited for it); RATE_LIMITED past the limit.
   */
  async countRequest(caller: Caller): Promise<Record<string, string>> {
    if (!this.requests || this.exempt(caller)) return {};
    return rateLimitHeaders(this.requests.points, await this.consume(this.requests, caller.limitKey));
  }

  /**
   * Takes one of `caller`'s stream slots (RATE_LIMITED when all are in use). The function returned
   * gives it back; calling it again does nothing, so every way a stream can end may call it.
   */
  async openStream(caller: Caller): Promise<() => void> {
    const { streams } = this;
    if (!streams || this.exempt(caller)) return () => {};
    const key = caller.limitKey;
    if (!(await streams.slots.take(key))) {
      this.onRefused('streams');
      throw new AppError(
        'RATE_LIMITED',
        `Limit reached: ${streams.max} streams open at once; close one, or retry in ${STREAM_RETRY_SECONDS} s`,
        { headers: refusalHeaders(streams.max, 0, STREAM_RETRY_SECONDS * 1000) },
      );
    }
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.settle(streams.slots.give(key), 'freeing a stream slot');
    };
  }

  /**
   * Counts a generation about to start, and the web search of an internet answer, once the day's
   * completion tokens are not spent yet; RATE_LIMITED otherwise, counting nothing.
   */
  async countGenerationStart(caller: Caller, { internet }: { internet: boolean }): Promise<void> {
    if (this.exempt(caller)) return;
    const key = caller.limitKey;
    if (this.completionTokens) {
      const spent = await this.completionTokens.counter.get(key);
      if (spent && spent.consumedPoints >= this.completionTokens.points) {
        this.onRefused(this.completionTokens.name);
        throw refusal(this.completionTokens, spent);
      }
    }
    if (this.generations) await this.consume(this.generations, key);
    if (!internet || !this.searches) return;
    try {
      await this.consume(this.searches, key);
    } catch (error) {
      // Refused for its search: the start it would have been is not counted either.
      if (this.generations) void this.settle(this.generations.counter.reward(key), 'taking back a generation start');
      throw error;
    }
  }

  /** Charges the completion tokens of a finished generation to the caller who started it. Never fails. */
  async chargeCompletion(caller: Caller, reply: FinishedReply): Promise<void> {
    const tokens = completionTokensOf(reply);
    if (!this.completionTokens || this.exempt(caller) || tokens === 0) return;
    await this.settle(this.completionTokens.counter.penalty(caller.limitKey, tokens), 'charging completion tokens');
  }

  private exempt(caller: Caller): boolean {
    return caller.admin && this.config.exemptAdmins;
  }

  private async consume(limit: WindowLimit, key: string): Promise<RateLimiterRes> {
    try {
      return await limit.counter.consume(key);
    } catch (rejection) {
      // rate-limiter-flexible rejects with the counts when the limit is reached, with an Error when its store fails.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      this.onRefused(limit.name);
      throw refusal(limit, rejection);
    }
  }

  /** Waits for a count that nobody can be refused for any more; a store failure is logged, not thrown. */
  private async settle(update: Promise<unknown>, what: string): Promise<void> {
    try {
      await update;
    } catch (error) {
      this.logger.error({ err: error }, `${what} failed`);
    }
  }
}

/** The tokens the model reported for a reply, or its text's estimate when it reported none. */
export function completionTokensOf(reply: FinishedReply): number {
  return reply.completionTokens ?? Math.ceil(reply.message.length / CHARS_PER_TOKEN);
}

function refusal(limit: WindowLimit, counts: RateLimiterRes): AppError {
  const headers = refusalHeaders(limit.points, counts.remainingPoints, counts.msBeforeNext);
  return new AppError(
    'RATE_LIMITED',
    `Limit reached: ${limit.points} ${limit.unit}; retry in ${readableSeconds(Number(headers['Retry-After']))}`,
    {
      headers,
    },
  );
}

/** The IETF draft's RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers-06): Reset is in seconds from now. */
function rateLimitHeaders(limit: number, counts: Pick<RateLimiterRes, 'remainingPoints' | 'msBeforeNext'>): Record<string, string> {
  return {
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(Math.max(0, counts.remainingPoints)),
    'RateLimit-Reset': String(Math.ceil(Math.max(0, counts.msBeforeNext) / 1000)),
  };
}

function refusalHeaders(limit: number, remaining: number, msBeforeNext: number): Record<string, string> {
  // At least a second: `Retry-After: 0` invites an immediate retry, refused again.
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return { 'Retry-After': String(retryAfter), ...rateLimitHeaders(limit, { remainingPoints: remaining, msBeforeNext: retryAfter * 1000 }) };
}

function readableSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * `source` as an iterator that calls `release` (once) when it ends, fails or its consumer leaves:
 * a subscription's stream slot. Written out rather than as an async generator, whose `finally`
 * never runs when the consumer leaves before the first `next()`.
 */
export function releasingWhenDone<T>(source: AsyncIterable<T>, release: () => void): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) release();
        return result;
      } catch (error) {
        release();
        throw error;
      }
    },
    async return(value?: unknown) {
      release();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      release();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

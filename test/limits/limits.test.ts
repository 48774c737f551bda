import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LimitsConfig } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';
import { AppError } from '../../src/errors.ts';
import { completionTokensOf, Limits, releasingWhenDone } from '../../src/limits/limits.ts';
import { anonymousCaller, type Caller, ownerCaller } from '../../src/services/caller.ts';

const UNLIMITED: LimitsConfig = {
  requestsPerMinute: null,
  generationsPerMinute: null,
  concurrentStreams: null,
  completionTokensPerDay: null,
  searchesPerDay: null,
  exemptAdmins: true,
};

const limitsOf = (config: Partial<LimitsConfig>) => new Limits({ ...UNLIMITED, ...config }, pino({ level: 'silent' }));

const alice = ownerCaller('alice', false);
const bob = ownerCaller('bob', false);
const admin = ownerCaller('root', true);

/** The RATE_LIMITED error `attempt` fails with. */
async function refusal(attempt: Promise<unknown>): Promise<AppError> {
  const error = await attempt.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
  return error as AppError;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('configuration', () => {
  it('has defaults that cap cost, and 0 turns a limit off', () => {
    expect(loadConfig({}).limits).toEqual({
      requestsPerMinute: 600,
      generationsPerMinute: 60,
      concurrentStreams: 20,
      completionTokensPerDay: 200_000,
      searchesPerDay: 100,
      exemptAdmins: true,
    });
    const off = loadConfig({
      LIMIT_REQUESTS_PER_MINUTE: '0',
      LIMIT_GENERATIONS_PER_MINUTE: '0',
      LIMIT_CONCURRENT_STREAMS: '0',
      LIMIT_COMPLETION_TOKENS_PER_DAY: '0',
      LIMIT_SEARCHES_PER_DAY: '0',
      LIMIT_EXEMPT_ADMINS: 'false',
    });
    expect(off.limits).toEqual({ ...UNLIMITED, exemptAdmins: false });
  });

  it.each([
    ['LIMIT_REQUESTS_PER_MINUTE', '-1'],
    ['LIMIT_CONCURRENT_STREAMS', '2.5'],
    ['LIMIT_SEARCHES_PER_DAY', 'many'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});

describe('requests per minute', () => {
  it('counts down in the RateLimit-* headers, then refuses with Retry-After and the limit named', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const limits = limitsOf({ requestsPerMinute: 2 });
    expect(await limits.countRequest(alice)).toEqual({ 'RateLimit-Limit': '2', 'RateLimit-Remaining': '1', 'RateLimit-Reset': '60' });
    vi.advanceTimersByTime(15_000);
    expect(await limits.countRequest(alice)).toEqual({ 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '45' });
    const refused = await refusal(limits.countRequest(alice));
    expect(refused.headers).toEqual({ 'Retry-After': '45', 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '45' });
    expect(refused.message).toBe('Limit reached: 2 requests per minute; retry in 45 s');
    // The window ends a minute after its first request: a full allowance again.
    vi.advanceTimersByTime(45_000);
    expect(await limits.countRequest(alice)).toMatchObject({ 'RateLimit-Remaining': '1' });
  });

  it('counts each limit key apart: owners, and anonymous callers by IP address', async () => {
    const limits = limitsOf({ requestsPerMinute: 1 });
    const callers: Caller[] = [alice, bob, anonymousCaller('203.0.113.7'), anonymousCaller('203.0.113.8')];
    for (const caller of callers) await limits.countRequest(caller);
    for (const caller of callers) await refusal(limits.countRequest(caller));
  });

  it('leaves admins alone when they are exempt, and counts them when not', async () => {
    const exempt = limitsOf({ requestsPerMinute: 1 });
    for (let i = 0; i < 5; i++) expect(await exempt.countRequest(admin)).toEqual({});
    const counted = limitsOf({ requestsPerMinute: 1, exemptAdmins: false });
    await counted.countRequest(admin);
    await refusal(counted.countRequest(admin));
  });

  it('is not counted at all when off', async () => {
    const limits = limitsOf({});
    for (let i = 0; i < 1_000; i++) expect(await limits.countRequest(alice)).toEqual({});
  });
});

describe('concurrent streams', () => {
  it('refuses past the limit until a stream is released; releasing twice frees one slot', async () => {
    const limits = limitsOf({ concurrentStreams: 2 });
    const first = await limits.openStream(alice);
    await limits.openStream(alice);
    const refused = await refusal(limits.openStream(alice));
    expect(refused.message).toMatch(/2 streams open at once/);
    expect(refused.headers).toMatchObject({ 'Retry-After': '1', 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0' });
    // Another client's slots are its own.
    await limits.openStream(bob);

    first();
    first();
    await limits.openStream(alice);
    await refusal(limits.openStream(alice));
  });

  it('holds no slot for an exempt admin', async () => {
    const limits = limitsOf({ concurrentStreams: 1 });
    for (let i = 0; i < 3; i++) await limits.openStream(admin);
  });
});

describe('generation starts, searches and completion tokens', () => {
  it('counts starts per minute, and a search per internet answer, each per key', async () => {
    const limits = limitsOf({ generationsPerMinute: 3, searchesPerDay: 1 });
    await limits.countGenerationStart(alice, { internet: true });
    // No search left: refused for its search, and the start it would have been is not counted.
    const noSearch = await refusal(limits.countGenerationStart(alice, { internet: true }));
    expect(noSearch.message).toBe('Limit reached: 1 web searches per 24 hours; retry in 24 h');
    await limits.countGenerationStart(alice, { internet: false });
    await limits.countGenerationStart(alice, { internet: false });
    expect((await refusal(limits.countGenerationStart(alice, { internet: false }))).message).toMatch(
      /3 generations started per minute; retry in \d+ s/,
    );
    await limits.countGenerationStart(bob, { internet: true });
  });

  it('refuses new starts once the completion tokens of the day are spent, for that key only', async () => {
    const limits = limitsOf({ completionTokensPerDay: 100 });
    await limits.countGenerationStart(alice, { internet: false });
    await limits.chargeCompletion(alice, { completionTokens: 99, message: 'ignored when usage is reported' });
    // One token left: a generation may start (and overshoot; it is not cut).
    await limits.countGenerationStart(alice, { internet: false });
    await limits.chargeCompletion(alice, { completionTokens: 30, message: '' });
    const refused = await refusal(limits.countGenerationStart(alice, { internet: false }));
    expect(refused.message).toBe('Limit reached: 100 completion tokens per 24 hours; retry in 24 h');
    expect(refused.headers).toEqual({
      'Retry-After': '86400',
      'RateLimit-Limit': '100',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': '86400',
    });
    await limits.countGenerationStart(bob, { internet: false });
  });

  it("estimates a reply's tokens from its text when the model reported none", () => {
    expect(completionTokensOf({ completionTokens: 7, message: 'x'.repeat(400) })).toBe(7);
    expect(completionTokensOf({ completionTokens: null, message: 'x'.repeat(41) })).toBe(11);
    expect(completionTokensOf({ completionTokens: null, message: '' })).toBe(0);
  });
});

describe('releasingWhenDone', () => {
  async function* numbers(count: number) {
    for (let i = 0; i < count; i++) yield i;
  }

  it('releases once when the source ends', async () => {
    const release = vi.fn();
    const seen: number[] = [];
    for await (const n of releasingWhenDone(numbers(3), release)) seen.push(n);
    expect(seen).toEqual([0, 1, 2]);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('releases when the consumer leaves, even before its first next()', async () => {
    const release = vi.fn();
    await releasingWhenDone(numbers(3), release).return?.();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('releases when the source fails', async () => {
    const release = vi.fn();
    async function* failing() {
      yield 1;
      throw new Error('gone');
    }
    const iterator = releasingWhenDone(failing(), release);
    await iterator.next();
    await expect(iterator.next()).rejects.toThrow('gone');
    expect(release).toHaveBeenCalledTimes(1);
  });
});

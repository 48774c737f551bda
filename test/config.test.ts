import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { parseDatabaseUrl } from '../src/db/database.ts';

describe('configuration', () => {
  it('has defaults for a laptop: 127.0.0.1:4000 on PGlite in ./data', () => {
    const config = loadConfig({});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(config.database).toMatchObject({ url: './data/pglite', migrateOnStart: true });
  });

  it('lists every invalid variable in one readable error', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT[\s\S]*MIGRATE_ON_START[\s\S]*LOG_LEVEL|PORT[\s\S]*LOG_LEVEL[\s\S]*MIGRATE_ON_START/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).server.port).toBe(4000);
  });
});

describe('DATABASE_URL', () => {
  it.each([
    ['./data/pglite', { kind: 'pglite', dataDir: './data/pglite' }],
    ['file:/var/lib/chat', { kind: 'pglite', dataDir: '/var/lib/chat' }],
    ['memory://', { kind: 'pglite', dataDir: undefined }],
    ['postgresql://u@db:5432/chat?schema=gw', { kind: 'postgres', connectionString: 'postgresql://u@db:5432/chat', schema: 'gw' }],
    ['postgres://u@db/chat', { kind: 'postgres', connectionString: 'postgres://u@db/chat', schema: undefined }],
  ])('%s', (url, target) => {
    expect(parseDatabaseUrl(url)).toEqual(target);
  });
});

describe('web search (SerpAPI)', () => {
  it('is off without SERPAPI_API_KEY, and on with defaults with it', () => {
    expect(loadConfig({}).search).toBeNull();
    expect(loadConfig({ SERPAPI_API_KEY: 'k' }).search).toEqual({
      apiKey: 'k',
      baseUrl: new URL('https://serpapi.com'),
      extraCa: undefined,
      organicResults: 5,
      cacheTtlMs: 600_000,
      timeoutMs: 10_000,
    });
  });

  it.each([
    ['http://proxy.internal', /SERPAPI_BASE_URL: must be an https:\/\/ URL/],
    ['not a url', /SERPAPI_BASE_URL: must be an https:\/\/ URL/],
    ['https://proxy.internal/serpapi', /SERPAPI_BASE_URL: must be an origin/],
    ['https://proxy.internal/?engine=bing', /SERPAPI_BASE_URL: must be an origin/],
    ['https://user:secret@proxy.internal', /SERPAPI_BASE_URL: must be an origin/],
  ])('refuses SERPAPI_BASE_URL=%s', (url, message) => {
    expect(() => loadConfig({ SERPAPI_API_KEY: 'k', SERPAPI_BASE_URL: url })).toThrow(message);
  });

  it('refuses a SERPAPI_CA_FILE it cannot read or that holds no certificate', () => {
    expect(() => loadConfig({ SERPAPI_API_KEY: 'k', SERPAPI_CA_FILE: '/nonexistent/ca.pem' })).toThrow(
      /SERPAPI_CA_FILE: cannot use \/nonexistent\/ca.pem/,
    );
    expect(() => loadConfig({ SERPAPI_API_KEY: 'k', SERPAPI_CA_FILE: 'package.json' })).toThrow(/no PEM certificate/);
  });

  it.each([['SEARCH_ORGANIC_RESULTS', '0'], ['SEARCH_ORGANIC_RESULTS', '11'], ['SEARCH_CACHE_TTL_MS', '-1'], ['SEARCH_TIMEOUT_MS', '0']])(
    'refuses %s=%s',
    (name, value) => {
      expect(() => loadConfig({ SERPAPI_API_KEY: 'k', [name]: value })).toThrow(new RegExp(name));
    },
  );
});

describe('Redis (several instances)', () => {
  it('is off without REDIS_URL, and on with defaults with it', () => {
    expect(loadConfig({}).redis).toBeNull();
    expect(loadConfig({ REDIS_URL: 'rediss://user:secret@cache:6380/2' }).redis).toEqual({
      url: 'rediss://user:secret@cache:6380/2',
      keyPrefix: 'chat-gateway',
      streamBatchMs: 10,
      streamRetentionMs: 60_000,
    });
  });

  it.each([
    ['REDIS_URL', 'http://cache:6379'],
    ['REDIS_URL', 'cache:6379'],
    ['REDIS_KEY_PREFIX', 'has space'],
    ['REDIS_KEY_PREFIX', 'tag{x}'],
    ['REDIS_STREAM_BATCH_MS', '0'],
    ['REDIS_STREAM_RETENTION_MS', '0'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379', [name]: value })).toThrow(new RegExp(name));
  });
});

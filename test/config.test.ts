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

describe('metrics and tracing', () => {
  it('leave /metrics open and tracing off by default', () => {
    expect(loadConfig({}).observability).toEqual({ metricsToken: undefined, tracing: null });
  });

  it('trace to OTEL_EXPORTER_OTLP_ENDPOINT with its headers, service name and sampling ratio', () => {
    const { tracing } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D, x-team = gateway',
      OTEL_SERVICE_NAME: 'gateway-eu',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).observability;
    expect(tracing).toEqual({
      endpoint: new URL('https://collector.internal:4318'),
      headers: { 'x-api-key': 'abc==', 'x-team': 'gateway' },
      serviceName: 'gateway-eu',
      sampleRatio: 0.25,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).observability.tracing).toMatchObject({
      headers: {},
      serviceName: 'chat-gateway',
      sampleRatio: 1,
    });
  });

  it.each([
    ['METRICS_TOKEN', 'short', /METRICS_TOKEN: must be at least 32 characters/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /OTEL_EXPORTER_OTLP_ENDPOINT/],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'no-equals-sign', /OTEL_EXPORTER_OTLP_HEADERS: must be key=value pairs/],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'key=%E0%A4%A', /OTEL_EXPORTER_OTLP_HEADERS: must be key=value pairs/],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', /OTEL_TRACES_SAMPLER_ARG/],
  ])('refuses %s=%s', (name, value, message) => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', [name]: value })).toThrow(message);
  });
});

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

describe('database timeouts', () => {
  it('default to 5 s to connect, 10 s per statement, and the statement timeout plus 5 s for an answer', () => {
    expect(loadConfig({}).database.timeouts).toEqual({ connectMs: 5_000, statementMs: 10_000, queryMs: 15_000 });
    expect(loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '60000' }).database.timeouts.queryMs).toBe(65_000);
  });

  it('refuse a query timeout that would give up before the server cancels the statement', () => {
    const attempt = () => loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '5000', DATABASE_QUERY_TIMEOUT_MS: '5000' });
    expect(attempt).toThrow(/DATABASE_QUERY_TIMEOUT_MS: must be longer than DATABASE_STATEMENT_TIMEOUT_MS/);
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

  it.each([
    ['SEARCH_ORGANIC_RESULTS', '0'],
    ['SEARCH_ORGANIC_RESULTS', '11'],
    ['SEARCH_CACHE_TTL_MS', '-1'],
    ['SEARCH_TIMEOUT_MS', '0'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ SERPAPI_API_KEY: 'k', [name]: value })).toThrow(new RegExp(name));
  });
});

describe('exposure settings', () => {
  it('has defaults: no cross-origin caller, bounded request reading, GraphQL limits', () => {
    const { server, graphql } = loadConfig({});
    expect(server).toMatchObject({ corsOrigins: [], requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 });
    expect(graphql.limits).toEqual({ depth: 10, cost: 100_000, aliases: 15, tokens: 1_000, directives: 50 });
  });

  it('reads CORS_ORIGINS as a comma-separated list of exact origins', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).server.corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it.each(['*', 'https://*.example.com', 'https://app.example.com/', 'https://app.example.com/path', 'null', 'app.example.com'])(
    'refuses CORS_ORIGINS=%s',
    (origins) => {
      expect(() => loadConfig({ CORS_ORIGINS: origins })).toThrow(/CORS_ORIGINS.*is not an origin/);
    },
  );

  it('refuses HEADERS_TIMEOUT_MS above REQUEST_TIMEOUT_MS', () => {
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' })).toThrow(
      /HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS/,
    );
  });

  it.each([
    [{}, true],
    [{ NODE_ENV: 'development' }, true],
    [{ NODE_ENV: 'production' }, false],
    [{ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', GRAPHIQL: 'true' }, true],
    [{ NODE_ENV: 'development', GRAPHQL_INTROSPECTION: 'false', GRAPHIQL: 'false' }, false],
  ])('turns introspection and GraphiQL on or off from NODE_ENV unless set: %o', (env, on) => {
    expect(loadConfig(env).graphql).toMatchObject({ introspection: on, graphiql: on });
  });
});

describe('HF_TOKEN with TGI_URL', () => {
  it.each([
    'http://tgi.internal:8080',
    'http://10.0.0.5',
    'http://localhost.example.com',
    'http://127.0.0.1.nip.io',
    'http://[::ffff:127.0.0.1]',
  ])('refuses to send the token in clear text to %s', (url) => {
    const attempt = () => loadConfig({ TGI_URL: url, HF_TOKEN: 'hf_secret' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/TGI_URL: must be https:\/\/ when HF_TOKEN is set/);
  });

  it.each(['http://127.0.0.1:8080', 'http://127.8.9.10', 'http://localhost:3000', 'http://[::1]:8080', 'https://tgi.example.com'])(
    'sends it over https, or over http to this machine: %s',
    (url) => {
      expect(loadConfig({ TGI_URL: url, HF_TOKEN: 'hf_secret' }).inference.upstream).toEqual({
        endpointUrl: url,
        accessToken: 'hf_secret',
      });
    },
  );

  it('accepts plain http to another host when there is no token to leak', () => {
    expect(loadConfig({ TGI_URL: 'http://tgi.internal:8080' }).inference.upstream).toEqual({ endpointUrl: 'http://tgi.internal:8080' });
  });
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

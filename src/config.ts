import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { z } from 'zod';

/**
 * The environment is parsed once, here, one zod model per concern, each turning its variables into its
 * section of the `Config` (whose types are inferred from these models); anything invalid stops the
 * process at start-up with every problem listed, instead of failing on the first request.
 */

/** The interface the server listens on; the auth model reads it too (anonymous access off this machine). */
const Host = z.string().min(1).default('127.0.0.1');

const ServerModel = z
  .object({
    HOST: Host,
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    /** Largest request body accepted, in bytes (413 beyond). */
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(256 * 1024),
    /** How long `main` waits for open requests and streams on SIGTERM before closing anyway. */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /**
     * Longest time to receive a whole request, headers and body (408 and the connection closed beyond).
     * Responses are not bounded: a stream may last for hours.
     */
    REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    /** Longest time to receive a request's headers (at most REQUEST_TIMEOUT_MS). */
    HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /** How long an idle keep-alive connection stays open between requests; behind a load balancer, above its idle timeout. */
    KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
    /**
     * The browser origins allowed to call the API cross-origin, comma-separated and exact
     * (`https://app.example.com,http://localhost:5173`); none by default.
     */
    CORS_ORIGINS: z
      .string()
      .transform((list) =>
        list
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.string().refine((origin) => !origin.includes('*') && URL.canParse(origin) && new URL(origin).origin === origin, {
            error: (issue) => `${JSON.stringify(issue.input)} is not an origin (scheme://host[:port], no path, no wildcard)`,
          }),
        ),
      )
      .default([]),
    /**
     * Reverse proxies in front of the gateway that append to X-Forwarded-For: the client address (what anonymous
     * callers are limited by) is the entry this many hops from the right. 0 trusts no header.
     */
    TRUSTED_PROXY_HOPS: z.coerce.number().int().nonnegative().default(0),
  })
  // Node's HTTP server refuses to start otherwise.
  .refine((e) => e.HEADERS_TIMEOUT_MS <= e.REQUEST_TIMEOUT_MS, {
    path: ['HEADERS_TIMEOUT_MS'],
    message: 'must not exceed REQUEST_TIMEOUT_MS',
  })
  .transform((e) => ({
    host: e.HOST,
    port: e.PORT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
    /** Exact origins allowed cross-origin; empty: none. */
    corsOrigins: e.CORS_ORIGINS as readonly string[],
    trustedProxyHops: e.TRUSTED_PROXY_HOPS,
  }));

const AuthModel = z
  .object({
    /**
     * `required`: every route but /healthz needs `Authorization: Bearer <API key or JWT>`. `none`: a credential
     * is optional; callers without one share the anonymous owner's chats (the seed API's open behaviour).
     */
    AUTH: z.enum(['none', 'required']).default('none'),
    /** AUTH=none on a non-loopback HOST must be asked for explicitly: it exposes the anonymous chats to the network. */
    ALLOW_ANONYMOUS: z.stringbool().default(false),
    HOST: Host,
    /** A bootstrap admin credential (at least 32 characters): creates and revokes API keys through GraphQL. */
    ADMIN_API_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    /** OpenID Connect: JWTs from this issuer, for this audience, signed by a key of this JWKS, are accepted. */
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** How long a verified API key is trusted before it is looked up again (revocation reaches other instances then). */
    API_KEY_CACHE_TTL_MS: z.coerce.number().int().nonnegative().default(30_000),
  })
  .refine((e) => e.AUTH === 'required' || e.ALLOW_ANONYMOUS || isLoopbackHost(e.HOST), {
    path: ['AUTH'],
    message: 'AUTH=none serves everyone the anonymous chats: on a non-loopback HOST set AUTH=required, or ALLOW_ANONYMOUS=true',
  })
  .refine(
    (e) =>
      [e.JWT_ISSUER, e.JWT_AUDIENCE, e.JWT_JWKS_URL].every((v) => v === undefined) || (e.JWT_ISSUER && e.JWT_AUDIENCE && e.JWT_JWKS_URL),
    {
      path: ['JWT_JWKS_URL'],
      message: 'JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URL go together',
    },
  )
  .refine(
    (e) =>
      !e.JWT_JWKS_URL ||
      !URL.canParse(e.JWT_JWKS_URL) ||
      new URL(e.JWT_JWKS_URL).protocol === 'https:' ||
      isLoopbackHost(new URL(e.JWT_JWKS_URL).hostname),
    {
      path: ['JWT_JWKS_URL'],
      message: 'must be https:// (plain http only on a loopback host): the keys decide who is who',
    },
  )
  .transform((e) => ({
    required: e.AUTH === 'required',
    adminApiKey: e.ADMIN_API_KEY,
    jwt:
      e.JWT_ISSUER && e.JWT_AUDIENCE && e.JWT_JWKS_URL
        ? { issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE, jwksUrl: new URL(e.JWT_JWKS_URL) }
        : null,
    apiKeyCacheTtlMs: e.API_KEY_CACHE_TTL_MS,
  }));

const GraphQLModel = z
  .object({
    /**
     * A JSON object mapping operation hashes to GraphQL documents (e.g. graphql-codegen's
     * `persisted-documents.json`): clients send `extensions.persistedQuery.sha256Hash` instead of the
     * query, by POST or by a cacheable GET.
     */
    PERSISTED_OPERATIONS_FILE: z.string().optional(),
    /** Refuse any operation that is not in PERSISTED_OPERATIONS_FILE (trusted documents only). */
    PERSISTED_OPERATIONS_ONLY: z.stringbool().default(false),
    /** Deepest field nesting of an operation (fragments add no depth; introspection's `__schema` is not counted). */
    GRAPHQL_MAX_DEPTH: z.coerce.number().int().positive().default(10),
    /**
     * Most fields an answer may hold: every field counts 1, times the page size (`first`/`last`, else
     * the default 20) of each connection above it.
     */
    GRAPHQL_MAX_COST: z.coerce.number().int().positive().default(100_000),
    /** Most aliases in an operation (`__typename` aliases are free). */
    GRAPHQL_MAX_ALIASES: z.coerce.number().int().nonnegative().default(15),
    /** Most lexical tokens in a document; checked while parsing, so a huge document is refused early. */
    GRAPHQL_MAX_TOKENS: z.coerce.number().int().positive().default(1_000),
    /** Most directives (`@include`, `@skip`…) in an operation. */
    GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().nonnegative().default(50),
    /** Schema introspection, and "Did you mean…" suggestions in errors; default: on unless NODE_ENV=production. */
    GRAPHQL_INTROSPECTION: z.stringbool().optional(),
    /** The GraphiQL page at /graphql for browsers; default: on unless NODE_ENV=production. */
    GRAPHIQL: z.stringbool().optional(),
    /** `production` turns off what helps development and helps attackers too (introspection, GraphiQL). */
    NODE_ENV: z.string().default('development'),
  })
  .refine((e) => !e.PERSISTED_OPERATIONS_ONLY || e.PERSISTED_OPERATIONS_FILE, {
    path: ['PERSISTED_OPERATIONS_FILE'],
    message: 'PERSISTED_OPERATIONS_ONLY needs PERSISTED_OPERATIONS_FILE',
  })
  .transform((e, ctx) => ({
    /** Persisted operations by hash; null when none are configured. */
    persistedOperations: e.PERSISTED_OPERATIONS_FILE ? readPersistedOperations(e.PERSISTED_OPERATIONS_FILE, ctx) : null,
    persistedOperationsOnly: e.PERSISTED_OPERATIONS_ONLY,
    limits: {
      depth: e.GRAPHQL_MAX_DEPTH,
      cost: e.GRAPHQL_MAX_COST,
      aliases: e.GRAPHQL_MAX_ALIASES,
      tokens: e.GRAPHQL_MAX_TOKENS,
      directives: e.GRAPHQL_MAX_DIRECTIVES,
    },
    /** Introspection and "Did you mean…" suggestions. */
    introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
  }));

const DatabaseModel = z
  .object({
    /**
     * Unset, a path or a `file:` URL: PGlite (in-process PostgreSQL) stored in that folder;
     * `memory://`: PGlite in memory; `postgres://` / `postgresql://`: a PostgreSQL server
     * (`?schema=` selects the schema, as with Prisma).
     */
    DATABASE_URL: z.string().min(1).default('./data/pglite'),
    /** Apply pending migrations when the service starts. */
    MIGRATE_ON_START: z.stringbool().default(true),
    DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
    /**
     * PostgreSQL server only (PGlite is in-process). Opening a connection, or waiting for a free one of
     * the pool, longer than this fails the request with DATABASE_UNAVAILABLE.
     */
    DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
    /**
     * The server cancels a statement running longer (its `statement_timeout`, lock waits included). Every
     * statement of the gateway is a short read or write: one running this long means trouble, and
     * cancelling it means a request whose client has given up is not applied later.
     */
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /**
     * A statement not answered by then fails and its connection is dropped: the server is frozen or
     * cut off. Longer than the statement timeout, so that a server that answers cancels first.
     * Default: the statement timeout plus 5 s.
     */
    DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  })
  .refine((e) => e.DATABASE_QUERY_TIMEOUT_MS === undefined || e.DATABASE_QUERY_TIMEOUT_MS > e.DATABASE_STATEMENT_TIMEOUT_MS, {
    path: ['DATABASE_QUERY_TIMEOUT_MS'],
    message: 'must be longer than DATABASE_STATEMENT_TIMEOUT_MS (the server cancels a statement before the gateway gives up on it)',
  })
  .transform((e) => ({
    url: e.DATABASE_URL,
    migrateOnStart: e.MIGRATE_ON_START,
    poolSize: e.DATABASE_POOL_SIZE,
    timeouts: {
      connectMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      statementMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      queryMs: e.DATABASE_QUERY_TIMEOUT_MS ?? e.DATABASE_STATEMENT_TIMEOUT_MS + 5_000,
    },
  }));

const InferenceModel = z
  .object({
    /** A Text Generation Inference server (its Messages API): the usual production upstream. */
    TGI_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** Token for TGI_URL (if it wants one) or for Hugging Face's hosted providers. */
    HF_TOKEN: z.string().optional(),
    /** Without TGI_URL: a model served by Hugging Face's hosted providers (needs HF_TOKEN). */
    HF_MODEL: z.string().optional(),
    INFERENCE_SYSTEM_PROMPT: z.string().default('You are a helpful assistant. Answer clearly and concisely.'),
    INFERENCE_MAX_TOKENS: z.coerce.number().int().positive().default(1024),
    INFERENCE_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
    /** Characters of chat history sent with a question, oldest messages dropped first. */
    INFERENCE_HISTORY_CHARS: z.coerce.number().int().positive().default(16_000),
    INFERENCE_FIRST_TOKEN_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
    /** Longest silence between two tokens before the generation counts as stalled. */
    INFERENCE_IDLE_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    /** How long a generation goes on with no listener, so that a reconnect can resume it. */
    INFERENCE_GRACE_MS: z.coerce.number().int().nonnegative().default(10_000),
    /** How often a streaming reply's text so far is written to the database. */
    INFERENCE_SAVE_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
    /**
     * How long a streaming reply stays claimed by the process generating it without a save: a reply whose
     * lease lapsed (its process died) is settled as incomplete. Renewed at every save interval.
     */
    INFERENCE_LEASE_MS: z.coerce.number().int().positive().default(5_000),
    SSE_HEARTBEAT_MS: z.coerce.number().int().positive().default(15_000),
    /**
     * The `retry:` sent at the start of every legacy SSE stream: how long an EventSource waits before it
     * reconnects (and resumes with Last-Event-ID). Well under INFERENCE_GRACE_MS, so a reconnect finds the
     * generation still running.
     */
    SSE_RETRY_MS: z.coerce.number().int().positive().default(3_000),
  })
  .refine((e) => !e.HF_TOKEN || !e.TGI_URL || !isCleartextToAnotherHost(e.TGI_URL), {
    path: ['TGI_URL'],
    message:
      'must be https:// when HF_TOKEN is set, or the token crosses the network in clear text ' +
      '(plain http:// is accepted only to this machine: 127.0.0.0/8, ::1, localhost)',
  })
  .refine((e) => !e.HF_MODEL || e.TGI_URL || e.HF_TOKEN, {
    path: ['HF_TOKEN'],
    message: 'HF_MODEL (Hugging Face hosted inference) needs HF_TOKEN',
  })
  .refine((e) => e.INFERENCE_LEASE_MS >= 3 * e.INFERENCE_SAVE_INTERVAL_MS, {
    path: ['INFERENCE_LEASE_MS'],
    message: 'must be at least 3 × INFERENCE_SAVE_INTERVAL_MS: a lease must outlive a slow save or two',
  })
  .transform((e) => ({
    /** Where tokens come from; null when neither TGI_URL nor HF_MODEL is set (inference answers 503). */
    upstream: e.TGI_URL
      ? { endpointUrl: e.TGI_URL, accessToken: e.HF_TOKEN }
      : e.HF_MODEL && e.HF_TOKEN
        ? { model: e.HF_MODEL, accessToken: e.HF_TOKEN }
        : null,
    systemPrompt: e.INFERENCE_SYSTEM_PROMPT,
    maxTokens: e.INFERENCE_MAX_TOKENS,
    temperature: e.INFERENCE_TEMPERATURE,
    historyChars: e.INFERENCE_HISTORY_CHARS,
    firstTokenTimeoutMs: e.INFERENCE_FIRST_TOKEN_TIMEOUT_MS,
    idleTimeoutMs: e.INFERENCE_IDLE_TIMEOUT_MS,
    graceMs: e.INFERENCE_GRACE_MS,
    saveIntervalMs: e.INFERENCE_SAVE_INTERVAL_MS,
    leaseMs: e.INFERENCE_LEASE_MS,
    heartbeatMs: e.SSE_HEARTBEAT_MS,
    /** Reconnection delay advertised to SSE clients (`retry:`). */
    sseRetryMs: e.SSE_RETRY_MS,
  }));

const SearchModel = z
  .object({
    /** SerpAPI key for the internet inference routes; unset, they answer 503. */
    SERPAPI_API_KEY: z.string().optional(),
    /**
     * Where SerpAPI requests go instead of serpapi.com: an https origin, for a reverse proxy or a
     * stand-in (not a forward proxy: there is no CONNECT). Requests still carry SerpAPI's own paths
     * (`/search`), so a path, query or credentials here are refused rather than silently dropped.
     */
    SERPAPI_BASE_URL: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL' })
      .refine((url) => {
        // Not a URL at all: the check above has said so already.
        if (!URL.canParse(url)) return true;
        const { pathname, search, username, password } = new URL(url);
        return ['', '/'].includes(pathname) && !search && !username && !password;
      }, 'must be an origin, without a path, query or credentials')
      .default('https://serpapi.com'),
    /** A PEM file of extra certificate authorities to trust for SERPAPI_BASE_URL (e.g. a reverse proxy's private CA). */
    SERPAPI_CA_FILE: z.string().optional(),
    /** How many organic results (besides the answer box and knowledge graph) become sources. */
    SEARCH_ORGANIC_RESULTS: z.coerce.number().int().min(1).max(10).default(5),
    /** How long the results of a query are reused for the same query (SerpAPI bills per search); 0 disables. */
    SEARCH_CACHE_TTL_MS: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(10 * 60_000),
    SEARCH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  })
  .transform((e, ctx) =>
    e.SERPAPI_API_KEY
      ? {
          apiKey: e.SERPAPI_API_KEY,
          baseUrl: new URL(e.SERPAPI_BASE_URL),
          /** PEM text of the extra certificate authorities from SERPAPI_CA_FILE. */
          extraCa: e.SERPAPI_CA_FILE ? readCaFile(e.SERPAPI_CA_FILE, ctx) : undefined,
          organicResults: e.SEARCH_ORGANIC_RESULTS,
          cacheTtlMs: e.SEARCH_CACHE_TTL_MS,
          timeoutMs: e.SEARCH_TIMEOUT_MS,
        }
      : null,
  );

/**
 * Per-client limits (per owner, per IP address when anonymous; see src/limits). Each is off at 0, which
 * the config says with null. The defaults leave room for brisk interactive use and cap what one client
 * can cost in a day.
 */
const limit = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .nonnegative()
    .default(fallback)
    .transform((perClient) => perClient || null);
const LimitsModel = z
  .object({
    /** Requests per minute, on every route but /healthz and /metrics. */
    LIMIT_REQUESTS_PER_MINUTE: limit(600),
    /** Generations started per minute (regenerations included; joining or replaying a reply is not a start). */
    LIMIT_GENERATIONS_PER_MINUTE: limit(60),
    /** Inference streams and GraphQL subscriptions open at once. */
    LIMIT_CONCURRENT_STREAMS: limit(20),
    /** Completion tokens per 24 hours; once spent, no new generation starts (a running one is not cut). */
    LIMIT_COMPLETION_TOKENS_PER_DAY: limit(200_000),
    /** Internet answers started per 24 hours (each is one web search, whether or not the search cache answers it). */
    LIMIT_SEARCHES_PER_DAY: limit(100),
    /** Admins (the operator's own keys) are not limited. */
    LIMIT_EXEMPT_ADMINS: z.stringbool().default(true),
  })
  .transform((e) => ({
    requestsPerMinute: e.LIMIT_REQUESTS_PER_MINUTE,
    generationsPerMinute: e.LIMIT_GENERATIONS_PER_MINUTE,
    concurrentStreams: e.LIMIT_CONCURRENT_STREAMS,
    completionTokensPerDay: e.LIMIT_COMPLETION_TOKENS_PER_DAY,
    searchesPerDay: e.LIMIT_SEARCHES_PER_DAY,
    exemptAdmins: e.LIMIT_EXEMPT_ADMINS,
  }));

const RedisModel = z
  .object({
    /**
     * A Redis server shared by every instance (`redis://` or `rediss://`, with credentials and `/db` if needed):
     * single flight, reply streams, stop signals, chat events and the search cache then cross instances.
     * Unset, everything happens in this process alone.
     */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    /** Start of every key and channel name: several deployments can share one Redis. */
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[\w.-]{1,64}$/, 'must be 1–64 letters, digits, ".", "_" or "-"')
      .default('chat-gateway'),
    /** Events of a reply are published to Redis in batches at most this far apart (listeners elsewhere lag that much). */
    REDIS_STREAM_BATCH_MS: z.coerce.number().int().min(1).max(1_000).default(10),
    /** How long a reply's Redis stream outlives its last event: resumes after that read the database. */
    REDIS_STREAM_RETENTION_MS: z.coerce.number().int().positive().default(60_000),
  })
  .transform((e) =>
    e.REDIS_URL
      ? {
          url: e.REDIS_URL,
          keyPrefix: e.REDIS_KEY_PREFIX,
          streamBatchMs: e.REDIS_STREAM_BATCH_MS,
          streamRetentionMs: e.REDIS_STREAM_RETENTION_MS,
        }
      : null,
  );

const LogModel = z
  .object({
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .transform((e) => ({ level: e.LOG_LEVEL }));

const ObservabilityModel = z
  .object({
    /**
     * When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. /metrics never needs an API key
     * (monitoring carries none), so without this token it is open to whoever reaches the port.
     */
    METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
    /** OTLP/HTTP collector (base URL; spans go to `<url>/v1/traces`). Unset, tracing is off and its SDK never loaded. */
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** Headers for the collector, `key=value` pairs separated by commas (values URL-encoded), e.g. an API key. */
    OTEL_EXPORTER_OTLP_HEADERS: z
      .string()
      .transform((text, ctx) => {
        const headers = parseOtlpHeaders(text);
        if (headers) return headers;
        ctx.issues.push({ code: 'custom', input: text, message: 'must be key=value pairs separated by commas, values URL-encoded' });
        return z.NEVER;
      })
      .optional(),
    OTEL_SERVICE_NAME: z.string().min(1).default('chat-gateway'),
    /** Share of new traces recorded (parent-based: a request whose caller sampled it is always traced). */
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  })
  .transform((e) => ({
    metricsToken: e.METRICS_TOKEN,
    /** Where spans are exported; null when OTEL_EXPORTER_OTLP_ENDPOINT is unset (tracing off). */
    tracing: e.OTEL_EXPORTER_OTLP_ENDPOINT
      ? {
          endpoint: new URL(e.OTEL_EXPORTER_OTLP_ENDPOINT),
          headers: e.OTEL_EXPORTER_OTLP_HEADERS ?? {},
          serviceName: e.OTEL_SERVICE_NAME,
          sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
        }
      : null,
  }));

/** Each section of the config and the model that makes it; every model reads the whole environment. */
const sections = {
  server: ServerModel,
  auth: AuthModel,
  graphql: GraphQLModel,
  database: DatabaseModel,
  inference: InferenceModel,
  search: SearchModel,
  limits: LimitsModel,
  redis: RedisModel,
  log: LogModel,
  observability: ObservabilityModel,
};

const ConfigSchema = z.preprocess((env: Record<string, string | undefined>) => {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  return Object.fromEntries(Object.keys(sections).map((section) => [section, present]));
}, z.object(sections));

export type Config = z.output<typeof ConfigSchema>;
export type ServerConfig = Config['server'];
export type AuthConfig = Config['auth'];
export type GraphQLLimits = Config['graphql']['limits'];
export type InferenceConfig = Config['inference'];
export type SearchConfig = NonNullable<Config['search']>;
/** Each limit per client (Caller.limitKey); null: not limited. */
export type LimitsConfig = Config['limits'];
export type RedisConfig = NonNullable<Config['redis']>;
export type ObservabilityConfig = Config['observability'];
export type TracingConfig = NonNullable<ObservabilityConfig['tracing']>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the given environment (default: `process.env`); throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    // Paths start with the section; the variable's name is what the operator sets.
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.slice(1).join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

/** Plain http:// to a host other than this machine (a URL that is none is reported by its own check). */
function isCleartextToAnotherHost(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol, hostname } = new URL(url);
  const loopback = hostname === 'localhost' || hostname === '[::1]' || (isIPv4(hostname) && hostname.startsWith('127.'));
  return protocol === 'http:' && !loopback;
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** OTEL_EXPORTER_OTLP_HEADERS as OpenTelemetry specifies it (`k1=v1,k2=v2`, values URL-encoded); null if malformed. */
function parseOtlpHeaders(text: string): Record<string, string> | null {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',').filter((entry) => entry.trim() !== '')) {
    const match = /^\s*([!#$%&'*+.^_`|~\w-]+)\s*=(.*)$/.exec(pair);
    if (!match) return null;
    try {
      headers[match[1]!] = decodeURIComponent(match[2]!.trim());
    } catch {
      return null;
    }
  }
  return headers;
}

/** Reads a file named by `variable`; a file it cannot use is that variable's problem, listed with the others. */
function readConfigFile<T>(variable: string, path: string, ctx: z.RefinementCtx, read: (text: string) => T): T {
  try {
    return read(readFileSync(path, 'utf8'));
  } catch (error) {
    ctx.issues.push({ code: 'custom', input: path, path: [variable], message: `cannot use ${path}: ${(error as Error).message}` });
    return z.NEVER;
  }
}

function readCaFile(path: string, ctx: z.RefinementCtx): string {
  return readConfigFile('SERPAPI_CA_FILE', path, ctx, (pem) => {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  });
}

const PersistedOperations = z.record(z.string().min(1), z.string().min(1), {
  error: 'expected a JSON object of operation hash → GraphQL document',
});

function readPersistedOperations(path: string, ctx: z.RefinementCtx): ReadonlyMap<string, string> {
  return readConfigFile('PERSISTED_OPERATIONS_FILE', path, ctx, (text) => {
    const parsed = PersistedOperations.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(parsed.error.issues[0]?.message);
    return new Map(Object.entries(parsed.data));
  });
}

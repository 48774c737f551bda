import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The environment is parsed once, here, one zod model per concern; anything invalid stops the
 * process at start-up with every problem listed, instead of failing on the first request.
 */
const ServerModel = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Largest request body accepted, in bytes (413 beyond). */
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  /** How long `main` waits for open requests and streams on SIGTERM before closing anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

const GraphQLModel = z.object({
  /**
   * A JSON object mapping operation hashes to GraphQL documents (e.g. graphql-codegen's
   * `persisted-documents.json`): clients send `extensions.persistedQuery.sha256Hash` instead of the
   * query, by POST or by a cacheable GET.
   */
  PERSISTED_OPERATIONS_FILE: z.string().optional(),
  /** Refuse any operation that is not in PERSISTED_OPERATIONS_FILE (trusted documents only). */
  PERSISTED_OPERATIONS_ONLY: z.stringbool().default(false),
});

const DatabaseModel = z.object({
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
});

const InferenceModel = z.object({
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
  SSE_HEARTBEAT_MS: z.coerce.number().int().positive().default(15_000),
});

const SearchModel = z.object({
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
  SEARCH_CACHE_TTL_MS: z.coerce.number().int().nonnegative().default(10 * 60_000),
  SEARCH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

const LogModel = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const EnvironmentModel = z.object({
  ...ServerModel.shape,
  ...GraphQLModel.shape,
  ...DatabaseModel.shape,
  ...InferenceModel.shape,
  ...SearchModel.shape,
  ...LogModel.shape,
})
  .refine((e) => !e.HF_MODEL || e.TGI_URL || e.HF_TOKEN, {
    path: ['HF_TOKEN'],
    message: 'HF_MODEL (Hugging Face hosted inference) needs HF_TOKEN',
  })
  .refine((e) => e.DATABASE_QUERY_TIMEOUT_MS === undefined || e.DATABASE_QUERY_TIMEOUT_MS > e.DATABASE_STATEMENT_TIMEOUT_MS, {
    path: ['DATABASE_QUERY_TIMEOUT_MS'],
    message: 'must be longer than DATABASE_STATEMENT_TIMEOUT_MS (the server cancels a statement before the gateway gives up on it)',
  })
  .refine((e) => !e.PERSISTED_OPERATIONS_ONLY || e.PERSISTED_OPERATIONS_FILE, {
    path: ['PERSISTED_OPERATIONS_FILE'],
    message: 'PERSISTED_OPERATIONS_ONLY needs PERSISTED_OPERATIONS_FILE',
  });

export type Environment = z.infer<typeof EnvironmentModel>;

export interface Config {
  server: { host: string; port: number; bodyLimitBytes: number; shutdownTimeoutMs: number };
  graphql: {
    /** Persisted operations by hash; null when none are configured. */
    persistedOperations: ReadonlyMap<string, string> | null;
    persistedOperationsOnly: boolean;
  };
  database: {
    url: string;
    migrateOnStart: boolean;
    poolSize: number;
    timeouts: { connectMs: number; statementMs: number; queryMs: number };
  };
  inference: InferenceConfig;
  search: SearchConfig | null;
  log: { level: Environment['LOG_LEVEL'] };
}

export interface InferenceConfig {
  /** Where tokens come from; null when neither TGI_URL nor HF_MODEL is set (inference answers 503). */
  upstream: { endpointUrl: string; accessToken?: string } | { model: string; accessToken: string } | null;
  systemPrompt: string;
  maxTokens: number;
  temperature: number;
  historyChars: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  graceMs: number;
  saveIntervalMs: number;
  heartbeatMs: number;
}

export interface SearchConfig {
  apiKey: string;
  baseUrl: URL;
  /** PEM text of the extra certificate authorities from SERPAPI_CA_FILE. */
  extraCa?: string;
  organicResults: number;
  cacheTtlMs: number;
  timeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the given environment (default: `process.env`); throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = EnvironmentModel.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  return {
    server: {
      host: e.HOST,
      port: e.PORT,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    graphql: {
      persistedOperations: e.PERSISTED_OPERATIONS_FILE ? readPersistedOperations(e.PERSISTED_OPERATIONS_FILE) : null,
      persistedOperationsOnly: e.PERSISTED_OPERATIONS_ONLY,
    },
    database: {
      url: e.DATABASE_URL,
      migrateOnStart: e.MIGRATE_ON_START,
      poolSize: e.DATABASE_POOL_SIZE,
      timeouts: {
        connectMs: e.DATABASE_CONNECT_TIMEOUT_MS,
        statementMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
        queryMs: e.DATABASE_QUERY_TIMEOUT_MS ?? e.DATABASE_STATEMENT_TIMEOUT_MS + 5_000,
      },
    },
    inference: {
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
      heartbeatMs: e.SSE_HEARTBEAT_MS,
    },
    search: e.SERPAPI_API_KEY
      ? {
          apiKey: e.SERPAPI_API_KEY,
          baseUrl: new URL(e.SERPAPI_BASE_URL),
          extraCa: e.SERPAPI_CA_FILE ? readCaFile(e.SERPAPI_CA_FILE) : undefined,
          organicResults: e.SEARCH_ORGANIC_RESULTS,
          cacheTtlMs: e.SEARCH_CACHE_TTL_MS,
          timeoutMs: e.SEARCH_TIMEOUT_MS,
        }
      : null,
    log: { level: e.LOG_LEVEL },
  };
}

/** Reads a file named by `variable`, stopping start-up with the variable's name if it is unusable. */
function readConfigFile<T>(variable: string, path: string, read: (text: string) => T): T {
  try {
    return read(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  - ${variable}: cannot use ${path}: ${(error as Error).message}`);
  }
}

function readCaFile(path: string): string {
  return readConfigFile('SERPAPI_CA_FILE', path, (pem) => {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  });
}

const PersistedOperations = z.record(z.string().min(1), z.string().min(1), {
  error: 'expected a JSON object of operation hash → GraphQL document',
});

function readPersistedOperations(path: string): ReadonlyMap<string, string> {
  return readConfigFile('PERSISTED_OPERATIONS_FILE', path, (text) => {
    const parsed = PersistedOperations.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(parsed.error.issues[0]?.message);
    return new Map(Object.entries(parsed.data));
  });
}

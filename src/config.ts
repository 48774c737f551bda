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
});

const LogModel = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const EnvironmentModel = z.object({
  ...ServerModel.shape,
  ...DatabaseModel.shape,
  ...LogModel.shape,
});

export type Environment = z.infer<typeof EnvironmentModel>;

export interface Config {
  server: { host: string; port: number; bodyLimitBytes: number; shutdownTimeoutMs: number };
  database: { url: string; migrateOnStart: boolean; poolSize: number };
  log: { level: Environment['LOG_LEVEL'] };
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
    database: { url: e.DATABASE_URL, migrateOnStart: e.MIGRATE_ON_START, poolSize: e.DATABASE_POOL_SIZE },
    log: { level: e.LOG_LEVEL },
  };
}

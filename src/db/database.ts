import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.ts';
import { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { lockDataFolder } from './folder-lock.ts';

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | undefined }
  | { kind: 'postgres'; connectionString: string; schema: string | undefined };

/** Reads DATABASE_URL the way the README documents it (see config.ts). */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // `?schema=` is Prisma's convention, unknown to libpq: strip it and apply it ourselves.
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    return { kind: 'postgres', connectionString: parsed.toString(), schema };
  }
  if (url === 'memory://') return { kind: 'pglite', dataDir: undefined };
  const dataDir = url.startsWith('file:') ? fileURLToPath(new URL(url, `file://${process.cwd()}/`)) : url;
  return { kind: 'pglite', dataDir };
}

/** A single SQL session: what migrations need (multi-statement scripts, advisory locks). */
export interface SqlSession {
  exec(script: string): Promise<void>;
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface Database {
  readonly target: DatabaseTarget;
  readonly prisma: PrismaClient;
  /** Runs `work` on one dedicated connection (held for its whole duration). */
  withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** The PostgreSQL connection pool as it is now; null on PGlite (one connection, no pool). */
  poolStats(): PoolStats | null;
  close(): Promise<void>;
}

export interface PoolStats {
  /** Connections open, idle ones included. */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

export interface DatabaseOptions {
  poolSize?: number;
  /** Limits on a PostgreSQL server's answers (none when absent: tests, scripts that wait as long as it takes). */
  timeouts?: Config['database']['timeouts'];
  /** Told about connections that fail while idle in the pool (a server restart, a network cut), and a stale PGlite lock taken over. */
  logger?: Pick<Logger, 'warn'>;
  /** Prisma client log settings, e.g. to count SQL statements in tests. */
  log?: ConstructorParameters<typeof PrismaClient>[0]['log'];
}

export async function openDatabase(url: string, options: DatabaseOptions = {}): Promise<Database> {
  const target = parseDatabaseUrl(url);
  return target.kind === 'postgres' ? openPostgres(target, options) : openPGlite(target, options);
}

async function openPGlite(target: Extract<DatabaseTarget, { kind: 'pglite' }>, options: DatabaseOptions): Promise<Database> {
  if (!target.dataDir) return usePGlite(await PGlite.create(), options);
  mkdirSync(target.dataDir, { recursive: true });
  const lock = await lockDataFolder(target.dataDir);
  if (lock.tookOverFrom) {
    options.logger?.warn({ previousOwner: lock.tookOverFrom }, 'PGlite folder: took over the lock of a process that is gone');
  }
  try {
    const database = usePGlite(await PGlite.create(target.dataDir), options);
    return {
      ...database,
      close: async () => {
        try {
          await database.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Wraps a PGlite instance the caller created (tests start theirs from a migrated snapshot). */
export function usePGlite(pglite: PGlite, options: DatabaseOptions = {}): Database {
  const target: DatabaseTarget = { kind: 'pglite', dataDir: pglite.dataDir };
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite), log: options.log });
  const session: SqlSession = {
    exec: async (script) => {
      await pglite.exec(script);
    },
    query: async <Row>(sql: string, params?: unknown[]) => (await pglite.query<Row>(sql, params)).rows,
  };
  // PGlite is one connection: Prisma and migrations share it, one statement at a time.
  const database: Database = {
    target,
    prisma,
    withSession: (work) => work(session),
    poolStats: () => null,
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
  return database;
}

async function openPostgres(target: Extract<DatabaseTarget, { kind: 'postgres' }>, options: DatabaseOptions) {
  const { timeouts, logger } = options;
  const max = options.poolSize ?? 10;
  const connection: pg.ClientConfig = {
    connectionString: target.connectionString,
    ...(target.schema && { options: `-c search_path=${quoteIdentifier(target.schema)}` }),
    connectionTimeoutMillis: timeouts?.connectMs,
    keepAlive: true,
  };
  const pool = new pg.Pool({
    ...connection,
    max,
    // A server that is down, frozen or unreachable fails requests within these bounds instead of
    // holding them; connectionTimeoutMillis also bounds the wait for a connection when all are busy.
    ...(timeouts && {
      // The server cancels a statement running longer (lock waits included), so that a request its
      // client gave up on is not applied later.
      statement_timeout: timeouts.statementMs,
      // The backstop for a server that does not answer at all; the pool then discards the connection.
      query_timeout: timeouts.queryMs,
    }),
  });
  // pg emits 'error' when an idle connection breaks (the server restarted): without a listener from the
  // start, that kills the process (Prisma attaches its own only at its first query). The pool drops the
  // connection and opens a new one when one is needed.
  pool.on('error', (error) => logger?.warn({ err: error }, 'database connection lost while idle'));
  const adapter = new PrismaPg(pool, { schema: target.schema });
  const prisma = new PrismaClient({ adapter, log: options.log });
  const database: Database = {
    target,
    prisma,
    withSession: async (work) => {
      // A connection of its own, without the statement and query timeouts: a migration may rightly run
      // for minutes, and waits for another instance's migrations under the advisory lock.
      const client = new pg.Client(connection);
      client.on('error', (error) => logger?.warn({ err: error }, 'database session lost'));
      await client.connect();
      try {
        return await work({
          exec: async (script) => {
            await client.query(script);
          },
          query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
        });
      } finally {
        await client.end();
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
  return database;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

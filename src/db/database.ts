import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';

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
  /** Prisma client log settings, e.g. to count SQL statements in tests. */
  log?: ConstructorParameters<typeof PrismaClient>[0]['log'];
}

export async function openDatabase(url: string, options: DatabaseOptions = {}): Promise<Database> {
  const target = parseDatabaseUrl(url);
  return target.kind === 'postgres' ? openPostgres(target, options) : openPGlite(target, options);
}

async function openPGlite(target: Extract<DatabaseTarget, { kind: 'pglite' }>, options: DatabaseOptions) {
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  return usePGlite(await PGlite.create(target.dataDir), options);
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
  const searchPath = target.schema ? { options: `-c search_path=${quoteIdentifier(target.schema)}` } : {};
  const max = options.poolSize ?? 10;
  const pool = new pg.Pool({ connectionString: target.connectionString, max, ...searchPath });
  const adapter = new PrismaPg(pool, { schema: target.schema });
  const prisma = new PrismaClient({ adapter, log: options.log });
  const database: Database = {
    target,
    prisma,
    withSession: async (work) => {
      const client = await pool.connect();
      try {
        return await work({
          exec: async (script) => {
            await client.query(script);
          },
          query: async <Row>(sql: string, params?: unknown[]) =>
            (await client.query(sql, params)).rows as Row[],
        });
      } finally {
        client.release();
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

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';
import { type Database, openDatabase, quoteIdentifier, usePGlite } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';

export const TEST_STORE = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'pglite';
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A DATABASE_URL nobody else uses: PGlite in memory, or a fresh schema on the PostgreSQL server. */
export function isolatedDatabaseUrl(): string {
  return TEST_STORE === 'pglite' ? 'memory://' : isolatedPostgresUrl();
}

/** A fresh schema on the PostgreSQL server, created by the first migration (drop it with dropIsolatedSchema). */
export function isolatedPostgresUrl(): string {
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', `test_${process.pid}_${randomBytes(4).toString('hex')}`);
  return url.toString();
}

export interface TestDatabase extends Database {
  /** SQL statements Prisma sent since the last reset. */
  readonly statements: string[];
  dispose(): Promise<void>;
}

export async function createTestDatabase(url = isolatedDatabaseUrl()): Promise<TestDatabase> {
  const options = { log: [{ emit: 'event' as const, level: 'query' as const }] };
  const database =
    url === 'memory://'
      ? usePGlite(await PGlite.create({ loadDataDir: new Blob([await readFile(inject('pgliteSnapshot'))]) }), options)
      : await openDatabase(url, options);
  const statements: string[] = [];
  // Typed loosely: the client's `$on` overloads depend on the log option's literal type.
  (database.prisma as unknown as { $on(event: 'query', listener: (e: { query: string }) => void): void }).$on('query', (event) =>
    statements.push(event.query),
  );
  await migrate(database);
  return {
    ...database,
    statements,
    dispose: async () => {
      const { target } = database;
      if (target.kind === 'postgres' && target.schema) {
        await database.withSession((session) => session.exec(`DROP SCHEMA ${quoteIdentifier(target.schema!)} CASCADE`));
      }
      await database.close();
    },
  };
}

/** Drops the schema of an isolatedPostgresUrl() used by another process (a gateway child), once it is gone. */
export async function dropIsolatedSchema(url: string): Promise<void> {
  const database = await openDatabase(url);
  try {
    const { schema } = database.target as { schema?: string };
    if (schema) await database.withSession((session) => session.exec(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`));
  } finally {
    await database.close();
  }
}

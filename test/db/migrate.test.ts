import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, quoteIdentifier } from '../../src/db/database.ts';
import { MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, isolatedDatabaseUrl, TEST_STORE, type TestDatabase } from '../support/database.ts';

const run = promisify(execFile);
const databases: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(databases.splice(0).map((database) => database.dispose()));
});

async function fresh() {
  const database = await createTestDatabase();
  databases.push(database);
  return database;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  applied_steps_count: number;
}

const rows = (database: TestDatabase) =>
  database.withSession((session) =>
    session.query<MigrationRow>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    ),
  );

describe('migrations', () => {
  it('records every shipped migration the way prisma migrate deploy does, once', async () => {
    const database = await fresh(); // already migrated once
    expect(await migrate(database)).toEqual([]);
    const shipped = await readMigrations();
    const recorded = await rows(database);
    expect(recorded.map((row) => row.migration_name)).toEqual(shipped.map((m) => m.name));
    for (const [index, row] of recorded.entries()) {
      const sql = await readFile(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.checksum).toBe(shipped[index]!.checksum);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('applies a new migration, and refuses a migration edited after it was applied', async () => {
    const database = await fresh();
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      await cp(join(dir, (await readMigrations())[0]!.name), join(dir, '29990101000000_add_topic'), { recursive: true });
      await writeFile(join(dir, '29990101000000_add_topic', 'migration.sql'), 'ALTER TABLE "chats" ADD COLUMN "topic" TEXT;\n');
      expect(await migrate(database, dir)).toEqual(['29990101000000_add_topic']);
      expect(await migrate(database, dir)).toEqual([]);

      await writeFile(join(dir, '29990101000000_add_topic', 'migration.sql'), 'ALTER TABLE "chats" ADD COLUMN "other" TEXT;\n');
      await expect(migrate(database, dir)).rejects.toThrow(/add_topic was modified after it was applied/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls a failing migration back whole and says which one failed', async () => {
    const database = await fresh();
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      await cp(join(dir, (await readMigrations())[0]!.name), join(dir, '29990101000000_broken'), { recursive: true });
      await writeFile(
        join(dir, '29990101000000_broken', 'migration.sql'),
        'CREATE TABLE "half" (id int);\nSELECT * FROM "missing_table";\n',
      );
      const failure = await migrate(database, dir).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MigrationError);
      expect(String(failure)).toMatch(/29990101000000_broken failed/);
      const half = await database.withSession((s) => s.query<{ t: string | null }>(`SELECT to_regclass('half')::text AS t`));
      expect(half[0]?.t).toBeNull();
      expect((await rows(database)).map((row) => row.migration_name)).not.toContain('29990101000000_broken');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(TEST_STORE === 'postgres')('migrations on a PostgreSQL server', () => {
  it('two processes starting at once apply each migration exactly once', async () => {
    const url = isolatedDatabaseUrl();
    const env = { ...process.env, DATABASE_URL: url };
    try {
      const [first, second] = await Promise.all([
        run('npx', ['tsx', 'scripts/migrate.ts'], { env }),
        run('npx', ['tsx', 'scripts/migrate.ts'], { env }),
      ]);
      // One process applied the history, the other waited on the lock and found nothing to do.
      expect([first.stdout, second.stdout].sort()).toEqual(
        [`Applied: ${(await readMigrations()).map((m) => m.name).join(', ')}\n`, 'Database schema up to date\n'].sort(),
      );
      const database = await openDatabase(url);
      try {
        const counted = await database.withSession((s) =>
          s.query<{ migration_name: string; n: number }>('SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1'),
        );
        expect(counted.every((row) => row.n === 1)).toBe(true);
        expect(counted).toHaveLength((await readMigrations()).length);
      } finally {
        await database.close();
      }
    } finally {
      const schema = new URL(url).searchParams.get('schema')!;
      const database = await openDatabase(url.replace(/\?.*$/, ''));
      await database.withSession((s) => s.exec(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`));
      await database.close();
    }
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pendingSchemaSql } from '../../scripts/migrate-new.ts';

// Each call boots Prisma's WASM schema engine and two in-memory PGlite databases: several seconds.
const SLOW = 120_000;

// Never touches the store under test, so one of vitest.config.ts's two projects is enough.
describe.skipIf(process.env.TEST_STORE === 'postgres')('prisma/migrations', () => {
  it(
    'covers prisma/schema.prisma (else run: npm run migrate:new -- <name>)',
    async () => {
      expect(await pendingSchemaSql()).toBe('');
    },
    SLOW,
  );

  it(
    'would detect a schema change that has no migration',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'schema-'));
      try {
        const schema = await readFile(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
        const edited = schema.replace(/^model Chat \{\n/m, '$&  topic String?\n');
        expect(edited).not.toBe(schema);
        const schemaPath = join(dir, 'schema.prisma');
        await writeFile(schemaPath, edited);

        const sql = await pendingSchemaSql({ schemaPath });
        expect(sql).toMatch(/ALTER TABLE "chats" ADD COLUMN\s+"topic" TEXT;/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

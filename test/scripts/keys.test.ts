import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/services/api-keys.ts';
import { createTestDatabase, isolatedDatabaseUrl, type TestDatabase } from '../support/database.ts';

const run = promisify(execFile);
const url = isolatedDatabaseUrl();

/** `npm run keys -- …` as an operator runs it (tsx, against DATABASE_URL). */
const keys = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], { env: { ...process.env, DATABASE_URL: url } });

// A PGlite folder would cost a fresh initdb per run: the PostgreSQL project covers the script.
describe.skipIf(process.env.TEST_STORE !== 'postgres')('npm run keys', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(url);
  });
  afterAll(() => database?.dispose());

  it('creates a key printed once, lists it without its secret, and revokes it', async () => {
    const created = await keys('create', '--owner', 'ops-team', '--admin');
    const key = /^(cgk_\S+)$/m.exec(created.stdout)![1]!;
    const verified = await new ApiKeyStore(database.prisma, 0).verify(key);
    expect(verified).toMatchObject({ owner: 'ops-team', admin: true });

    const listed = await keys('list');
    expect(listed.stdout).toMatch(/ops-team \(admin\).*active/);
    expect(listed.stdout).not.toContain(key.slice(-43));

    const id = (await database.prisma.apiKey.findFirstOrThrow({ where: { owner: 'ops-team' } })).id;
    await keys('revoke', id);
    expect(await new ApiKeyStore(database.prisma, 0).verify(key)).toBeNull();
  });

  it('refuses a bad owner or a bad command with a message and a non-zero exit', async () => {
    await expect(keys('create', '--owner', 'anonymous')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('reserved') });
    await expect(keys('frobnicate')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('Usage') });
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/services/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.dispose());

it('forgets a key revoked by another instance within the cache time, however often it is used meanwhile', async () => {
  const here = new ApiKeyStore(database.prisma, 300);
  const elsewhere = new ApiKeyStore(database.prisma, 300);
  const { key, record } = await here.create({ owner: 'erin', admin: false });
  expect(await here.verify(key)).toMatchObject({ owner: 'erin' });
  await elsewhere.revoke(record.id);
  const started = Date.now();
  let accepted = true;
  // Used every 20 ms: a cache hit must not extend the entry's life.
  while (accepted && Date.now() - started < 2_000) {
    accepted = (await here.verify(key)) !== null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(accepted).toBe(false);
});

it('refuses a key at once on the instance that revokes it', async () => {
  const store = new ApiKeyStore(database.prisma, 60_000);
  const { key, record } = await store.create({ owner: 'frank', admin: false });
  expect(await store.verify(key)).not.toBeNull();
  await store.revoke(record.id);
  expect(await store.verify(key)).toBeNull();
});

import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { graphql } from './gql/index.ts';
import { createTestApp, type TestApp } from './support/app.ts';

const PersistedChat = graphql(`
  query PersistedChat($id: ID!) {
    chat(id: $id) { id name }
  }
`);

const query = print(PersistedChat);
const hash = createHash('sha256').update(query).digest('hex');
const persisted = (sha256Hash: string) => JSON.stringify({ persistedQuery: { version: 1, sha256Hash } });

let folder: string;
let manifest: string;
let app: TestApp;
let strict: TestApp;
let chatId: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'persisted-'));
  manifest = join(folder, 'persisted-documents.json');
  await writeFile(manifest, JSON.stringify({ [hash]: query }));
  [app, strict] = await Promise.all([
    createTestApp({ PERSISTED_OPERATIONS_FILE: manifest }),
    createTestApp({ PERSISTED_OPERATIONS_FILE: manifest, PERSISTED_OPERATIONS_ONLY: 'true' }),
  ]);
  const created = await app.request('/chats/create', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Persisted' }),
  });
  chatId = ((await created.json()) as { id: string }).id;
});

afterAll(async () => {
  await Promise.all([app?.close(), strict?.close()]);
  if (folder) await rm(folder, { recursive: true, force: true });
});

const get = (target: TestApp, params: Record<string, string>) =>
  target.request(`/graphql?${new URLSearchParams(params)}`, { headers: { accept: 'application/graphql-response+json' } });

describe('persisted operations (PERSISTED_OPERATIONS_FILE)', () => {
  it('runs an operation sent by hash over a cacheable GET', async () => {
    const response = await get(app, { extensions: persisted(hash), variables: JSON.stringify({ id: chatId }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { chat: { id: chatId, name: 'Persisted' } } });
  });

  it('runs an operation sent by hash over POST', async () => {
    const response = await app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ extensions: JSON.parse(persisted(hash)), variables: { id: chatId } }),
    });
    expect(await response.json()).toEqual({ data: { chat: { id: chatId, name: 'Persisted' } } });
  });

  it('answers an unknown hash with PersistedQueryNotFound, so an APQ client can send the query instead', async () => {
    const response = await get(app, { extensions: persisted('0'.repeat(64)), variables: JSON.stringify({ id: chatId }) });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } });
  });

  it('still runs arbitrary operations unless PERSISTED_OPERATIONS_ONLY', async () => {
    const response = await get(app, { query: '{ chats(first: 1) { edges { node { id } } } }' });
    expect(await response.json()).toMatchObject({ data: { chats: { edges: expect.any(Array) } } });
  });

  it('with PERSISTED_OPERATIONS_ONLY, refuses any other operation with 400 and a clear error', async () => {
    const response = await get(strict, { query: '{ __typename }' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      errors: [{ message: expect.stringMatching(/persisted operations only/), extensions: { code: 'PERSISTED_QUERY_ONLY' } }],
    });
    const allowed = await get(strict, { extensions: persisted(hash), variables: JSON.stringify({ id: chatId }) });
    expect(await allowed.json()).toMatchObject({ data: { chat: null } });
  });

  it('with PERSISTED_OPERATIONS_ONLY, answers a client of application/json 200 with the same error (GraphQL over HTTP)', async () => {
    const response = await strict.request(`/graphql?${new URLSearchParams({ query: '{ __typename }' })}`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'PERSISTED_QUERY_ONLY' } }] });
  });

  it('stops start-up on a manifest it cannot use', async () => {
    await writeFile(join(folder, 'list.json'), JSON.stringify([query]));
    expect(() => loadConfig({ PERSISTED_OPERATIONS_FILE: join(folder, 'list.json') })).toThrow(
      /PERSISTED_OPERATIONS_FILE: cannot use .*operation hash → GraphQL document/,
    );
    expect(() => loadConfig({ PERSISTED_OPERATIONS_FILE: join(folder, 'missing.json') })).toThrow(ConfigError);
    expect(() => loadConfig({ PERSISTED_OPERATIONS_ONLY: 'true' })).toThrow(/PERSISTED_OPERATIONS_FILE: PERSISTED_OPERATIONS_ONLY needs/);
  });
});

import { getIntrospectionQuery } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  vi.unstubAllEnvs();
});

async function post(query: string, variables?: Record<string, unknown>) {
  const response = await app!.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, text: await response.text() };
}

const graphiql = () => app!.request('/graphql', { headers: { accept: 'text/html' } });

/** Typos that graphql-js answers with "Did you mean…": a field, an argument, a type, an enum value (literal and variable). */
const TYPOS: [string, Record<string, unknown>?][] = [
  ['{ chatz { id } }'],
  ['{ chats(frist: 1) { edges { cursor } } }'],
  ['query($id: Idd!) { chat(id: $id) { id } }'],
  ['mutation { createConversation(chatId: "x", role: Humna, message: "m") { id } }'],
  ['mutation($role: Role!) { createConversation(chatId: "x", role: $role, message: "m") { id } }', { role: 'Humna' }],
];

describe('introspection, suggestions and GraphiQL', () => {
  it('are on outside production', async () => {
    app = await createTestApp({ NODE_ENV: 'development' });
    expect(JSON.parse((await post(getIntrospectionQuery())).text).data.__schema.queryType).toMatchObject({ name: 'Query' });
    for (const [query, variables] of TYPOS) expect((await post(query, variables)).text).toMatch(/Did you mean/);
    expect(await (await graphiql()).text()).toMatch(/graphiql/i);
  });

  it('are off with NODE_ENV=production', async () => {
    app = await createTestApp({ NODE_ENV: 'production' });
    for (const query of [getIntrospectionQuery(), '{ __type(name: "Chat") { fields { name } } }']) {
      const { status, text } = await post(query);
      expect(status).toBe(400);
      expect(JSON.parse(text).errors[0]).toMatchObject({
        message: expect.stringMatching(/introspection has been disabled/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    }
    expect(JSON.parse((await post('{ __typename }')).text)).toEqual({ data: { __typename: 'Query' } });

    for (const [query, variables] of TYPOS) {
      const { status, text } = await post(query, variables);
      expect(status).toBe(400);
      expect(text).not.toMatch(/Did you mean|"chats?"|"first"|"ID"|"Human"/);
    }
    expect(JSON.parse((await post(TYPOS[0]![0])).text).errors[0].message).toBe('Cannot query field "chatz" on type "Query".');

    const page = await graphiql();
    expect(page.headers.get('content-type')).not.toMatch(/html/);
    expect(await page.text()).not.toMatch(/graphiql/i);
  });

  it('are on in production when configured on', async () => {
    app = await createTestApp({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', GRAPHIQL: 'true' });
    expect((await post(getIntrospectionQuery())).status).toBe(200);
    expect((await post(TYPOS[0]![0])).text).toMatch(/Did you mean/);
    expect(await (await graphiql()).text()).toMatch(/graphiql/i);
  });

  it('are off outside production when configured off', async () => {
    app = await createTestApp({ GRAPHQL_INTROSPECTION: 'false', GRAPHIQL: 'false' });
    expect((await post(getIntrospectionQuery())).status).toBe(400);
    expect((await post(TYPOS[0]![0])).text).not.toMatch(/Did you mean/);
    expect(await (await graphiql()).text()).not.toMatch(/graphiql/i);
  });
});

describe('unexpected errors', () => {
  it('carry neither the original message, nor a stack, nor a file path, even with NODE_ENV=development', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    app = await createTestApp({ NODE_ENV: 'development' });
    vi.spyOn(app.services.chats, 'list').mockRejectedValue(new Error('connection to /var/lib/secret.sock refused'));
    const { status, text } = await post('{ chats { edges { cursor } } }');
    expect(status).toBe(200);
    expect(JSON.parse(text).errors).toEqual([
      { message: 'Unexpected error.', locations: [{ line: 1, column: 3 }], path: ['chats'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
    expect(text).not.toMatch(/secret|stack|\.ts|at /);
  });
});

/**
 * Apollo Client 3 over HTTP (its HttpLink, on a loopback port). It reads any status but 2xx as a network
 * error and drops the response's GraphQL errors, so a field error must come with 200 to a client of
 * `application/json` (Apollo's own `*\/*` negotiates that too), as the GraphQL-over-HTTP spec says; the
 * statuses stay for clients that accept `application/graphql-response+json`.
 */

import { ApolloClient, ApolloError, HttpLink, InMemoryCache } from '@apollo/client/core';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import { createTestApp, listen, postGraphQL, type TestApp } from './support/app.ts';

const UNKNOWN_ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

const RENAME = graphql(`
  mutation ApolloRenameChat($id: ID!, $name: String!) {
    updateChat(id: $id, name: $name) { id name }
  }
`);
const CREATE = graphql(`
  mutation ApolloCreateChat($name: String!) {
    createChat(name: $name) { id name }
  }
`);

let app: TestApp;
let server: { url: string; close(): Promise<void> };
beforeAll(async () => {
  app = await createTestApp();
  server = await listen(app);
});
afterAll(async () => {
  await server?.close();
  await app?.close();
});

const apollo = (headers: Record<string, string> = {}) =>
  new ApolloClient({ link: new HttpLink({ uri: `${server.url}/graphql`, headers }), cache: new InMemoryCache() });

/** The error a mutation rejects with. */
async function failure<Result, Variables extends Record<string, unknown>>(
  client: ApolloClient<unknown>,
  mutation: TypedDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<ApolloError> {
  const error = await client.mutate({ mutation, variables }).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ApolloError);
  return error as ApolloError;
}

describe.each([
  ["Apollo's default Accept (*/*)", {}],
  ['Accept: application/json', { accept: 'application/json' }],
])('Apollo Client 3 with %s', (_case, headers) => {
  it('gets the GraphQL errors of a failed field, code included, not a network error', async () => {
    const error = await failure(apollo(headers), RENAME, { id: UNKNOWN_ID, name: 'x' });
    expect(error.networkError).toBeNull();
    expect(error.graphQLErrors.map(({ message, extensions }) => ({ message, code: extensions?.code }))).toEqual([
      { message: expect.stringContaining(UNKNOWN_ID), code: 'NOT_FOUND' },
    ]);
  });

  it('gets a validation failure as a GraphQL error too', async () => {
    const error = await failure(apollo(headers), CREATE, { name: '   ' });
    expect(error.networkError).toBeNull();
    expect(error.graphQLErrors[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('keeps the data of a request that succeeds', async () => {
    const { data } = await apollo(headers).mutate({ mutation: CREATE, variables: { name: 'From Apollo' } });
    expect(data?.createChat).toMatchObject({ name: 'From Apollo' });
  });
});

describe('statuses by media type', () => {
  it.each([
    ['application/json', 200],
    ['application/graphql-response+json', 404],
  ])('a NOT_FOUND field error answers %s with %i', async (accept, status) => {
    const result = await postGraphQL(app, 'mutation { deleteChat(id: "3fa85f64-5717-4562-b3fc-2c963f66afa6") { id } }', {}, { accept });
    expect(result.status).toBe(status);
    expect(result.headers.get('content-type')).toMatch(new RegExp(`^${accept.replace('+', '\\+')}`));
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it.each([
    ['application/json', 200],
    ['application/graphql-response+json', 422],
  ])('a VALIDATION_FAILED error answers %s with %i', async (accept, status) => {
    const result = await postGraphQL(app, 'mutation { createChat(name: "") { id } }', {}, { accept });
    expect(result.status).toBe(status);
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('keeps the HTTP status of a refusal before GraphQL (a bad credential) for both', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const result = await postGraphQL(app, '{ __typename }', {}, { accept, authorization: 'Bearer nonsense' });
      expect(result.status, accept).toBe(401);
    }
  });
});

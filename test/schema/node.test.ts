/**
 * Relay object identification: Chat and Conversation implement Node with the plain UUIDs both APIs
 * share, and `node(id:)` finds either, within the caller's chats (admins: all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../gql/index.ts';
import { bearer, createTestApp, jsonInit, postGraphQL, type TestApp } from '../support/app.ts';

const ADMIN_KEY = 'node-admin-key-0123456789abcdefghijklmn';

const Refetch = graphql(`
  query Refetch($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Chat { name conversations(first: 5) { edges { node { id message } } } }
      ... on Conversation { message chat { id name } }
    }
  }
`);

let app: TestApp;
let chat: { id: string; name: string };
let message: { id: string; message: string };
beforeAll(async () => {
  app = await createTestApp({ ADMIN_API_KEY: ADMIN_KEY });
  chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'Refetchable' }))).json();
  message = await (
    await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hello, node' }))
  ).json();
});
afterAll(() => app.close());

describe('node(id:)', () => {
  it('finds a chat by the id the REST API gave it, with its relations', async () => {
    const { data, errors } = await app.graphql(Refetch, { id: chat.id });
    expect(errors).toBeUndefined();
    expect(data?.node).toEqual({
      __typename: 'Chat',
      id: chat.id,
      name: 'Refetchable',
      conversations: { edges: [{ node: { id: message.id, message: 'Hello, node' } }] },
    });
  });

  it('finds a message by its id', async () => {
    const { data } = await app.graphql(Refetch, { id: message.id });
    expect(data?.node).toEqual({
      __typename: 'Conversation',
      id: message.id,
      message: 'Hello, node',
      chat: { id: chat.id, name: 'Refetchable' },
    });
  });

  it.each([
    ['an unknown id', '3fa85f64-5717-4562-b3fc-2c963f66afa6'],
    ['a malformed id', 'Q2hhdDox'],
  ])('answers null for %s', async (_case, id) => {
    const { data, errors } = await app.graphql(Refetch, { id });
    expect(errors).toBeUndefined();
    expect(data?.node).toBeNull();
  });

  it("is scoped like chat(id:) and conversation(id:): another owner's ids are null, an admin sees them", async () => {
    const created = await postGraphQL(app, 'mutation { createApiKey(owner: "mallory") { key } }', {}, bearer(ADMIN_KEY));
    const mallory = bearer(created.data!.createApiKey.key);
    const query = 'query($chat: ID!, $message: ID!) { chat: node(id: $chat) { id } message: node(id: $message) { id } }';
    const variables = { chat: chat.id, message: message.id };
    expect((await postGraphQL(app, query, variables, mallory)).data).toEqual({ chat: null, message: null });
    expect((await postGraphQL(app, query, variables, bearer(ADMIN_KEY))).data).toEqual({
      chat: { id: chat.id },
      message: { id: message.id },
    });
  });

  it('is what Relay asks for: both types implement Node, whose id is the same id as everywhere else', async () => {
    const { data } = await postGraphQL(app, '{ __type(name: "Node") { kind fields { name } possibleTypes { name } } }');
    expect(data!.__type).toEqual({
      kind: 'INTERFACE',
      fields: [{ name: 'id' }],
      possibleTypes: [{ name: 'Chat' }, { name: 'Conversation' }],
    });
  });
});

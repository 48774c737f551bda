import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../gql/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const CreateChat = graphql(`
  mutation NewChat($name: String!) {
    createChat(name: $name) { id }
  }
`);

const CreateConversation = graphql(`
  mutation CreateConversation($chatId: ID!, $role: Role!, $message: String!) {
    createConversation(chatId: $chatId, role: $role, message: $message) {
      id role chatId message createdAt updatedAt chat { id }
    }
  }
`);

const GetConversation = graphql(`
  query GetConversation($id: ID!) {
    conversation(id: $id) { id role message chat { id } }
  }
`);

const ChatMessages = graphql(`
  query ChatMessages($id: ID!, $first: Int, $after: String) {
    chat(id: $id) {
      conversations(first: $first, after: $after) {
        edges { node { message } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

let app: TestApp;
let chatId: string;
beforeAll(async () => {
  app = await createTestApp();
  chatId = (await app.graphql(CreateChat, { name: 'messages' })).data!.createChat.id;
});
afterAll(() => app.close());

describe('conversations', () => {
  it('creates a message and reads it back with its chat', async () => {
    const { data, errors } = await app.graphql(CreateConversation, { chatId, role: 'Human', message: 'Hello' });
    expect(errors).toBeUndefined();
    const conversation = data!.createConversation;
    expect(conversation).toMatchObject({ role: 'Human', chatId, message: 'Hello', chat: { id: chatId } });
    const read = await app.graphql(GetConversation, { id: conversation.id });
    expect(read.data?.conversation).toEqual({ id: conversation.id, role: 'Human', message: 'Hello', chat: { id: chatId } });
  });

  it("pages a chat's messages oldest first", async () => {
    const { data: chat } = await app.graphql(CreateChat, { name: 'paged' });
    const id = chat!.createChat.id;
    const messages = Array.from({ length: 7 }, (_, i) => `m${i}`);
    for (const message of messages) await app.graphql(CreateConversation, { chatId: id, role: 'Human', message });

    const seen: string[] = [];
    let after: string | null | undefined;
    for (let page = 0; page < 10; page += 1) {
      const { data } = await app.graphql(ChatMessages, { id, first: 3, after });
      const connection = data!.chat!.conversations;
      seen.push(...connection.edges.map((edge) => edge.node.message));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(messages);
  });

  it('answers NOT_FOUND for a missing chat and stores nothing', async () => {
    const before = await app.database.prisma.conversation.count();
    const { errors, status } = await app.graphql(CreateConversation, {
      chatId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      role: 'Human',
      message: 'x',
    });
    expect(errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(status).toBe(404);
    expect(await app.database.prisma.conversation.count()).toBe(before);
  });

  it.each([
    ['an empty message', ''],
    ['an over-long message', 'x'.repeat(32_001)],
  ])('answers VALIDATION_FAILED for %s', async (_case, message) => {
    const { errors } = await app.graphql(CreateConversation, { chatId, role: 'Assistant', message });
    expect(errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a role outside the enum before any resolver runs', async () => {
    const response = await app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({
        query: 'mutation($c: ID!) { createConversation(chatId: $c, role: System, message: "x") { id } }',
        variables: { c: chatId },
      }),
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.errors[0].message).toMatch(/Role/);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphql } from '../gql/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const CreateChat = graphql(`
  mutation CreateChat($name: String!) {
    createChat(name: $name) { id name createdAt updatedAt }
  }
`);

const UpdateChat = graphql(`
  mutation UpdateChat($id: ID!, $name: String!, $updatedAt: DateTime) {
    updateChat(id: $id, name: $name, updatedAt: $updatedAt) { id name createdAt updatedAt }
  }
`);

const DeleteChat = graphql(`
  mutation DeleteChat($id: ID!) {
    deleteChat(id: $id) { id name }
  }
`);

const GetChat = graphql(`
  query GetChat($id: ID!) {
    chat(id: $id) { id name createdAt updatedAt }
  }
`);

const ListChats = graphql(`
  query ListChats($first: Int, $after: String) {
    chats(first: $first, after: $after) {
      edges { cursor node { id name updatedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const ChatsWithConversations = graphql(`
  query ChatsWithConversations($first: Int!, $messages: Int!) {
    chats(first: $first) {
      edges { node { id name conversations(first: $messages) { edges { node { id role message chatId } } } } }
    }
  }
`);

const AddMessage = graphql(`
  mutation AddMessage($chatId: ID!, $role: Role!, $message: String!) {
    createConversation(chatId: $chatId, role: $role, message: $message) { id }
  }
`);

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

async function createChat(name: string) {
  const { data, errors } = await app.graphql(CreateChat, { name });
  expect(errors).toBeUndefined();
  return data!.createChat;
}

describe('chat mutations', () => {
  it('creates a chat with a UUID and equal timestamps', async () => {
    const chat = await createChat('  Trip to Lisbon  ');
    expect(chat.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(chat.name).toBe('Trip to Lisbon');
    expect(chat.createdAt).toBe(chat.updatedAt);
    const { data } = await app.graphql(GetChat, { id: chat.id });
    expect(data?.chat).toEqual(chat);
  });

  it('renames a chat, storing updatedAt as given or now', async () => {
    const chat = await createChat('Draft');
    const given = '2023-08-05T14:48:00.000Z';
    const { data } = await app.graphql(UpdateChat, { id: chat.id, name: 'Final', updatedAt: given });
    expect(data?.updateChat).toMatchObject({ id: chat.id, name: 'Final', createdAt: chat.createdAt, updatedAt: given });

    const before = Date.now();
    const again = await app.graphql(UpdateChat, { id: chat.id, name: 'Final 2' });
    expect(Date.parse(again.data!.updateChat.updatedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('deletes a chat with its conversations', async () => {
    const chat = await createChat('Doomed');
    await app.graphql(AddMessage, { chatId: chat.id, role: 'Human', message: 'hello' });
    const { data } = await app.graphql(DeleteChat, { id: chat.id });
    expect(data?.deleteChat).toEqual({ id: chat.id, name: 'Doomed' });
    expect((await app.graphql(GetChat, { id: chat.id })).data?.chat).toBeNull();
    expect(await app.database.prisma.conversation.count({ where: { chatId: chat.id } })).toBe(0);
  });

  it.each([
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a name over 200 characters', 'x'.repeat(201)],
  ])('refuses %s with VALIDATION_FAILED and stores nothing', async (_case, name) => {
    const before = await app.database.prisma.chat.count();
    const { data, errors, status } = await app.graphql(CreateChat, { name });
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(errors?.[0]?.message).toMatch(/name must/);
    expect(status).toBe(422);
    expect(await app.database.prisma.chat.count()).toBe(before);
  });

  it.each([
    ['an unknown id', '3fa85f64-5717-4562-b3fc-2c963f66afa6'],
    ['a malformed id', 'not-a-uuid'],
  ])('answers NOT_FOUND for %s on update and delete', async (_case, id) => {
    for (const result of [await app.graphql(UpdateChat, { id, name: 'x' }), await app.graphql(DeleteChat, { id })]) {
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(result.errors?.[0]?.message).toContain(id);
      expect(result.status).toBe(404);
    }
  });

  it('answers null, not an error, for a chat that does not exist', async () => {
    for (const id of ['3fa85f64-5717-4562-b3fc-2c963f66afa6', 'nope']) {
      const { data, errors } = await app.graphql(GetChat, { id });
      expect(errors).toBeUndefined();
      expect(data?.chat).toBeNull();
    }
  });
});

describe('chats connection', () => {
  beforeEach(async () => {
    await app.database.prisma.chat.deleteMany();
  });

  it('lists the most recently updated first and pages with cursors', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) {
      const chat = await createChat(name);
      // Distinct, known times: the order must come from updatedAt, not insertion order.
      await app.graphql(UpdateChat, { id: chat.id, name, updatedAt: `2024-01-0${names.indexOf(name) + 1}T00:00:00.000Z` });
    }
    const first = await app.graphql(ListChats, { first: 2 });
    expect(first.data?.chats.edges.map((edge) => edge.node.name)).toEqual(['e', 'd']);
    expect(first.data?.chats.pageInfo.hasNextPage).toBe(true);

    const second = await app.graphql(ListChats, { first: 2, after: first.data!.chats.pageInfo.endCursor });
    expect(second.data?.chats.edges.map((edge) => edge.node.name)).toEqual(['c', 'b']);

    const last = await app.graphql(ListChats, { first: 2, after: second.data!.chats.pageInfo.endCursor });
    expect(last.data?.chats.edges.map((edge) => edge.node.name)).toEqual(['a']);
    expect(last.data?.chats.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses a cursor that is not one of ours with VALIDATION_FAILED', async () => {
    const { errors } = await app.graphql(ListChats, { first: 2, after: 'garbage' });
    expect(errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('lists chats with their conversations in a constant number of SQL statements', async () => {
    const countFor = async (chats: number) => {
      app.database.statements.length = 0;
      const { data, errors } = await app.graphql(ChatsWithConversations, { first: chats, messages: 10 });
      expect(errors).toBeUndefined();
      expect(data?.chats.edges).toHaveLength(chats);
      for (const edge of data!.chats.edges) {
        expect(edge.node.conversations.edges.map((e) => e.node.message)).toEqual(['q 0', 'a 0', 'q 1', 'a 1']);
      }
      return app.database.statements.filter((sql) => /^\s*SELECT/i.test(sql)).length;
    };
    for (let i = 0; i < 20; i += 1) {
      const chat = await createChat(`chat ${i}`);
      for (let turn = 0; turn < 2; turn += 1) {
        await app.graphql(AddMessage, { chatId: chat.id, role: 'Human', message: `q ${turn}` });
        await app.graphql(AddMessage, { chatId: chat.id, role: 'Assistant', message: `a ${turn}` });
      }
    }
    const forOne = await countFor(1);
    const forTwenty = await countFor(20);
    expect(forTwenty).toBe(forOne);
    expect(forOne).toBeLessThanOrEqual(2);
  });
});

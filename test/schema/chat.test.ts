import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PageOfChatQueryVariables } from '../gql/graphql.ts';
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

const LatestOfEachChat = graphql(`
  query LatestOfEachChat($last: Int!) {
    chats(first: 20) {
      edges { node { name conversations(last: $last) { edges { node { message } } pageInfo { hasPreviousPage } } } }
    }
  }
`);

const PageOfEachChat = graphql(`
  query PageOfEachChat($first: Int, $after: String, $last: Int, $before: String) {
    chats(first: 20) {
      edges {
        node {
          name
          conversations(first: $first, after: $after, last: $last, before: $before) {
            edges { cursor node { message } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          }
        }
      }
    }
  }
`);

const PageOfChat = graphql(`
  query PageOfChat($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    chat(id: $id) {
      conversations(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { message chat { name } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
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

  it("answers a deleted chat with its conversations as they were, paged as a stored chat's are", async () => {
    const chat = await createChat('Doomed with history');
    for (const message of ['one', 'two', 'three']) await app.graphql(AddMessage, { chatId: chat.id, role: 'Human', message });
    const response = await app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'mutation($id: ID!) { deleteChat(id: $id) { name all: conversations { edges { node { message } } } ' +
          'last: conversations(last: 2) { edges { node { message } } pageInfo { hasPreviousPage hasNextPage } } } }',
        variables: { id: chat.id },
      }),
    });
    const { data } = (await response.json()) as {
      data: { deleteChat: { all: { edges: unknown[] }; last: { edges: unknown[]; pageInfo: unknown } } };
    };
    const messages = (connection: { edges: unknown[] }) =>
      connection.edges.map((edge) => (edge as { node: { message: string } }).node.message);
    expect(messages(data.deleteChat.all)).toEqual(['one', 'two', 'three']);
    expect(messages(data.deleteChat.last)).toEqual(['two', 'three']);
    expect(data.deleteChat.last.pageInfo).toEqual({ hasPreviousPage: true, hasNextPage: false });
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

describe('conversations of listed chats', () => {
  beforeEach(async () => {
    await app.database.prisma.chat.deleteMany();
  });

  /** Adds `count` messages to a chat, `prefix` and their number from `from`, at that many seconds past a fixed time. */
  async function addMessages(chatId: string, from: number, count: number, prefix = 'm') {
    await app.database.prisma.conversation.createMany({
      data: Array.from({ length: count }, (_, i) => ({
        chatId,
        role: (from + i) % 2 === 0 ? ('Human' as const) : ('Assistant' as const),
        message: `${prefix}${from + i}`,
        createdAt: new Date(Date.UTC(2024, 0, 1) + (from + i) * 1000),
      })),
    });
  }

  /** Statements with their parameters, to replay them. */
  const logged: { query: string; params: string }[] = [];
  beforeAll(() => {
    (app.database.prisma as any).$on('query', (event: { query: string; params: string }) => logged.push(event));
  });

  /** Runs `work`, then replays the SELECT statements it sent: how many, and how many rows the database sent back. */
  async function reads(work: () => Promise<unknown>) {
    logged.length = 0;
    await work();
    const selects = logged.filter(({ query }) => /^\s*SELECT/i.test(query));
    let rows = 0;
    for (const { query, params } of selects) {
      rows += (await app.database.withSession((session) => session.query(query, JSON.parse(params)))).length;
    }
    return { statements: selects.length, rows };
  }

  it('reads the same few rows of each chat whether it holds 10 or 50 messages, in one statement for all', async () => {
    const chats = await Promise.all(['a', 'b', 'c'].map((name) => createChat(name)));
    const latest = async () => {
      let page: string[][] = [];
      const counted = await reads(async () => {
        const { data, errors } = await app.graphql(LatestOfEachChat, { last: 2 });
        expect(errors).toBeUndefined();
        page = data!.chats.edges.map((edge) => {
          expect(edge.node.conversations.pageInfo.hasPreviousPage).toBe(true);
          return edge.node.conversations.edges.map((e) => e.node.message);
        });
      });
      return { page, ...counted };
    };
    for (const chat of chats) await addMessages(chat.id, 0, 10);
    const short = await latest();
    expect(short.page).toEqual([
      ['m8', 'm9'],
      ['m8', 'm9'],
      ['m8', 'm9'],
    ]);
    for (const chat of chats) await addMessages(chat.id, 10, 40);
    const long = await latest();
    expect(long.page).toEqual([
      ['m48', 'm49'],
      ['m48', 'm49'],
      ['m48', 'm49'],
    ]);
    expect(long.statements).toBe(short.statements);
    expect(long.statements).toBeLessThanOrEqual(2);
    expect(long.rows).toBe(short.rows);
    // The 3 chats, then at most the page and one row more (whether there is a previous page) of each.
    expect(long.rows).toBeLessThanOrEqual(3 + 3 * (2 + 1));
  });

  it('pages forward with first and after, and backward with last and before, every chat alike', async () => {
    const chats = [await createChat('a'), await createChat('b')];
    for (const [index, chat] of chats.entries()) await addMessages(chat.id, index * 100, 5, chat.name);
    const pagesOf = (data: any) =>
      Object.fromEntries(
        data.chats.edges.map((edge: any) => [edge.node.name, edge.node.conversations.edges.map((e: any) => e.node.message)]),
      );
    const connectionOf = (data: any, name: string) => data.chats.edges.find((edge: any) => edge.node.name === name).node.conversations;

    const first = await app.graphql(PageOfEachChat, { first: 2 });
    expect(pagesOf(first.data)).toEqual({ a: ['a0', 'a1'], b: ['b100', 'b101'] });
    expect(connectionOf(first.data, 'a').pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

    // Each chat's own cursor pages it: the other chat's page is empty, not placed by a message it does not hold.
    const afterA = await app.graphql(PageOfEachChat, { first: 2, after: connectionOf(first.data, 'a').pageInfo.endCursor });
    expect(pagesOf(afterA.data)).toEqual({ a: ['a2', 'a3'], b: [] });
    const beforeB = await app.graphql(PageOfEachChat, { last: 2, before: connectionOf(first.data, 'b').pageInfo.endCursor });
    expect(pagesOf(beforeB.data)).toEqual({ a: [], b: ['b100'] });

    const chatA = chats[0]!.id;
    const forward: string[] = [];
    let after: string | null | undefined;
    for (let page = 0; page < 5; page += 1) {
      const { data } = await app.graphql(PageOfChat, { id: chatA, first: 2, after });
      const connection = data!.chat!.conversations;
      forward.push(...connection.edges.map((edge) => edge.node.message));
      expect(connection.pageInfo.hasPreviousPage).toBe(after != null);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(forward).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);

    const backward: string[][] = [];
    let before: string | null | undefined;
    for (let page = 0; page < 5; page += 1) {
      const { data } = await app.graphql(PageOfChat, { id: chatA, last: 2, before });
      const connection = data!.chat!.conversations;
      expect(connection.edges.every((edge) => edge.node.chat.name === 'a')).toBe(true);
      backward.push(connection.edges.map((edge) => edge.node.message));
      if (!connection.pageInfo.hasPreviousPage) break;
      before = connection.pageInfo.startCursor;
    }
    expect(backward).toEqual([['a3', 'a4'], ['a1', 'a2'], ['a0']]);
  });

  it("answers an empty page to a cursor of another chat's or another owner's message, and refuses a forged one", async () => {
    const mine = await createChat('mine');
    const other = await createChat('other');
    const foreign = await app.database.prisma.chat.create({ data: { name: 'foreign', ownerId: 'someone-else' } });
    await addMessages(mine.id, 10, 4);
    // Before and after every message of `mine`: a cursor taken for its position alone would shift the page.
    await addMessages(other.id, 0, 2, 'o');
    await addMessages(foreign.id, 0, 2, 'f');
    await addMessages(foreign.id, 50, 2, 'f');
    const idOf = async (message: string) => (await app.database.prisma.conversation.findFirstOrThrow({ where: { message } })).id;
    const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');
    for (const message of ['o1', 'f0', 'f50']) {
      const cursor = cursorOf(await idOf(message));
      const pages: Omit<PageOfChatQueryVariables, 'id'>[] = [
        { first: 2, after: cursor },
        { last: 2, before: cursor },
      ];
      for (const page of pages) {
        const { data, errors } = await app.graphql(PageOfChat, { id: mine.id, ...page });
        expect(errors).toBeUndefined();
        expect(data!.chat!.conversations.edges).toEqual([]);
      }
    }
    const { errors, status } = await app.graphql(PageOfChat, { id: mine.id, first: 2, after: cursorOf('not-a-uuid') });
    expect(errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(status).toBe(422);
  });
});

/**
 * Two owners on one gateway: owner B walks every REST route, every GraphQL root field and both
 * subscriptions against owner A's chat, and can neither see nor change nor stream nor be told about it.
 * Admins see every chat.
 */
import { type Client, createClient, type ExecutionResult } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, listen, postGraphQL, type TestApp } from '../support/app.ts';
import { type SerpApiStandin, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { readSse } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const ADMIN_KEY = 'isolation-admin-key-0123456789abcdefghij';

let tgi: TgiStandin;
let serp: SerpApiStandin;
let app: TestApp;
let server: { url: string; close(): Promise<void> };
const clients: Client[] = [];
let alice: Record<string, string>;
let bob: Record<string, string>;
/** Alice's chat, her question in it, and the model's stored reply to it. */
let chatId: string;
let questionId: string;
let replyId: string;

const json = (headers: Record<string, string>, method: string, body: unknown): RequestInit => ({
  method,
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function keyFor(owner: string): Promise<Record<string, string>> {
  const result = await postGraphQL(app, 'mutation($o: String!) { createApiKey(owner: $o) { key } }', { o: owner }, bearer(ADMIN_KEY));
  return bearer(result.data!.createApiKey.key as string);
}

/** What the database holds of Alice's chat: it must come out of Bob's attempts unchanged. */
const aliceState = async () =>
  app.database.prisma.chat.findUnique({ where: { id: chatId }, include: { conversations: { orderBy: { seq: 'asc' } } } });

beforeAll(async () => {
  [tgi, serp] = await Promise.all([startTgiStandin(), startSerpApiStandin()]);
  app = await createTestApp({
    AUTH: 'required',
    ADMIN_API_KEY: ADMIN_KEY,
    TGI_URL: tgi.url,
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
  });
  server = await listen(app);
  alice = await keyFor('alice');
  bob = await keyFor('bob');
  chatId = (await (await app.request('/chats/create', json(alice, 'POST', { name: 'Alice private' }))).json()).id;
  questionId = (
    await (await app.request('/conversations/create', json(alice, 'POST', { chat_id: chatId, role: 'Human', message: 'secret?' }))).json()
  ).id;
  tgi.script({ kind: 'tokens', tokens: ['only', ' for', ' Alice'] });
  const events = await readSse(await app.request(`/conversations/inference/${questionId}`, { headers: alice }));
  replyId = (events.at(-1)!.data.conversation as { id: string }).id;
});

afterAll(async () => {
  for (const client of clients) client.dispose();
  await server?.close();
  await app?.close();
  await Promise.all([tgi?.close(), serp?.close()]);
});

function sseClient(headers: Record<string, string>, singleConnection = false): Client {
  const client = createClient({
    url: `${server.url}${singleConnection ? '/graphql/stream' : '/graphql'}`,
    singleConnection,
    retryAttempts: 0,
    // A copy: the client writes its stream token into the object it is given.
    headers: () => ({ ...headers }),
  });
  clients.push(client);
  return client;
}

describe('REST: Bob against Alice', () => {
  it('does not list her chat, and 404s every route that names it', async () => {
    const before = await aliceState();
    const listed = (await (await app.request('/chats/', { headers: bob })).json()) as { id: string }[];
    expect(listed.map((chat) => chat.id)).not.toContain(chatId);

    const attempts: [string, RequestInit][] = [
      [`/chats/${chatId}`, { headers: bob }],
      [`/chats/${chatId}/conversations`, { headers: bob }],
      [`/conversations/${questionId}`, { headers: bob }],
      [`/conversations/${replyId}`, { headers: bob }],
      [`/chats/update/${chatId}`, json(bob, 'PUT', { name: 'taken', updated_at: '2030-01-01T00:00:00Z' })],
      [`/chats/delete/${chatId}`, { method: 'DELETE', headers: bob }],
      ['/conversations/create', json(bob, 'POST', { chat_id: chatId, role: 'Human', message: 'let me in' })],
      [`/conversations/inference/${chatId}`, { headers: bob }],
      [`/conversations/inference/${questionId}`, { headers: bob }],
      [`/conversations/inference/${questionId}?regenerate=true`, { headers: bob }],
      [`/conversations/inference/${questionId}`, { headers: { ...bob, 'last-event-id': `${replyId}.3` } }],
      [`/conversations/inference_internet/${chatId}`, { headers: bob }],
      [`/conversations/inference_internet/${questionId}`, { headers: bob }],
    ];
    const upstreamBefore = tgi.requests.length;
    for (const [path, init] of attempts) {
      const response = await app.request(path, init);
      expect(response.status, `${init.method ?? 'GET'} ${path}`).toBe(404);
      expect((await response.json()).code).toBe('NOT_FOUND');
    }
    // A reply id is no way in either: it names nothing Bob has.
    expect((await app.request(`/conversations/inference/${replyId}`, { headers: bob })).status).toBe(404);
    expect(tgi.requests.length).toBe(upstreamBefore);
    expect(await aliceState()).toEqual(before);
  });

  it('answers the same 404 for her chat as for a chat that does not exist', async () => {
    const hers = await app.request(`/chats/${chatId}`, { headers: bob });
    const missing = crypto.randomUUID();
    const nobody = await app.request(`/chats/${missing}`, { headers: bob });
    expect((await hers.json()).detail.replace(chatId, 'ID')).toBe((await nobody.json()).detail.replace(missing, 'ID'));
  });

  it('lets Alice and an admin see the chat, and Bob his own only', async () => {
    expect((await app.request(`/chats/${chatId}`, { headers: alice })).status).toBe(200);
    expect((await app.request(`/chats/${chatId}`, { headers: bearer(ADMIN_KEY) })).status).toBe(200);
    const bobs = (await (await app.request('/chats/create', json(bob, 'POST', { name: 'Bob' }))).json()).id as string;
    expect((await app.request(`/chats/${bobs}`, { headers: alice })).status).toBe(404);
    const all = (await (await app.request('/chats/', { headers: bearer(ADMIN_KEY) })).json()) as { id: string }[];
    expect(all.map((chat) => chat.id)).toEqual(expect.arrayContaining([chatId, bobs]));
  });
});

describe('GraphQL: Bob against Alice', () => {
  it('reads nothing of hers through any query', async () => {
    const result = await postGraphQL(
      app,
      `query($chat: ID!, $question: ID!, $reply: ID!) {
        chats(first: 100) { edges { node { id } } }
        chat(id: $chat) { id }
        question: conversation(id: $question) { id }
        reply: conversation(id: $reply) { id }
        chatNode: node(id: $chat) { id }
        questionNode: node(id: $question) { id }
        replyNode: node(id: $reply) { id }
      }`,
      { chat: chatId, question: questionId, reply: replyId },
      bob,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.chats.edges.map((edge: { node: { id: string } }) => edge.node.id)).not.toContain(chatId);
    expect(result.data).toMatchObject({ chat: null, question: null, reply: null, chatNode: null, questionNode: null, replyNode: null });
  });

  it('changes nothing of hers through any mutation', async () => {
    const before = await aliceState();
    for (const [query, variables] of [
      ['mutation($id: ID!) { updateChat(id: $id, name: "taken") { id } }', { id: chatId }],
      ['mutation($id: ID!) { deleteChat(id: $id) { id } }', { id: chatId }],
      ['mutation($id: ID!) { createConversation(chatId: $id, role: Human, message: "in") { id } }', { id: chatId }],
    ] as const) {
      const result = await postGraphQL(app, query, variables, bob);
      expect(result.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
    }
    expect(await aliceState()).toEqual(before);
  });

  it.each([false, true])('streams nothing of hers (single connection: %s)', async (singleConnection) => {
    const upstreamBefore = tgi.requests.length;
    for (const internet of [false, true]) {
      for (const id of [questionId, chatId]) {
        const results: ExecutionResult<Record<string, unknown>, unknown>[] = [];
        for await (const result of sseClient(bob, singleConnection).iterate({
          query: 'subscription($id: ID!, $internet: Boolean!) { inference(conversationId: $id, internet: $internet) { __typename } }',
          variables: { id, internet },
        })) {
          results.push(result);
        }
        expect(results).toHaveLength(1);
        expect(results[0]!.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      }
    }
    expect(tgi.requests.length).toBe(upstreamBefore);
  });

  // Distinct connections only: there `connected` means the pub/sub listener is registered (see the
  // chatEvents test in test/schema/inference.test.ts), so "nothing arrived" is a real observation. The
  // owner filter sits in the resolver, the same for both transports.
  it('tells Bob nothing of what happens in her chat', async () => {
    const singleConnection = false;
    const query = 'subscription($chat: ID) { chatEvents(chatId: $chat) { type chatId } }';
    const watch = (headers: Record<string, string>, chat: string | null) => {
      const received: { type: string; chatId: string }[] = [];
      let connected!: () => void;
      const ready = new Promise<void>((resolve) => (connected = resolve));
      const iterator = sseClient(headers, singleConnection).iterate({ query, variables: { chat } }, { connected: () => connected() });
      const reading = (async () => {
        for await (const result of iterator) {
          received.push(result.data!.chatEvents as { type: string; chatId: string });
          if (received.at(-1)!.type === 'CHAT_DELETED') return;
        }
      })();
      return { received, ready, reading };
    };
    const bobAll = watch(bob, null);
    const bobHers = watch(bob, chatId);
    const aliceAll = watch(alice, null);
    await Promise.all([bobAll.ready, bobHers.ready, aliceAll.ready]);

    await app.request(`/chats/update/${chatId}`, json(alice, 'PUT', { name: 'Alice renamed' }));
    await app.request('/conversations/create', json(alice, 'POST', { chat_id: chatId, role: 'Human', message: 'more' }));
    // Bob's own events follow Alice's on the same bus: when his arrive, hers would have.
    const own = (await (await app.request('/chats/create', json(bob, 'POST', { name: 'marker' }))).json()).id as string;
    await app.request(`/chats/delete/${own}`, { method: 'DELETE', headers: bob });
    const alicesGone = (await (await app.request('/chats/create', json(alice, 'POST', { name: 'to delete' }))).json()).id;
    await app.request(`/chats/delete/${alicesGone}`, { method: 'DELETE', headers: alice });
    await Promise.all([bobAll.reading, aliceAll.reading]);

    expect(bobAll.received.map((event) => event.chatId)).toEqual([own, own]);
    expect(aliceAll.received.map((event) => event.type)).toEqual(['CHAT_UPDATED', 'CONVERSATION_CREATED', 'CHAT_CREATED', 'CHAT_DELETED']);
    expect(bobHers.received).toEqual([]);
  });
});

describe('Relay cursors naming her rows', () => {
  it('tell Bob nothing: a page after her chat is empty, as after a chat that does not exist', async () => {
    const cursor = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');
    const page = async (id: string) =>
      (await postGraphQL(app, 'query($c: String!) { chats(first: 3, after: $c) { edges { node { id } } } }', { c: cursor(id) }, bob)).data
        ?.chats.edges;
    expect(await page(chatId)).toEqual(await page(crypto.randomUUID()));
  });
});

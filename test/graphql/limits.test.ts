import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

/** POSTs a GraphQL request as a client that accepts `accept` (GraphQL over HTTP's media type by default). */
async function post(app: TestApp, query: string, variables?: Record<string, unknown>, accept = 'application/graphql-response+json') {
  const response = await app.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    ...((await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }),
  };
}

/** The Conversation.chat ↔ Chat.conversations cycle, `levels` pages of 100 messages deep. */
function cycleQuery(levels: number): string {
  return `{ chats(first: 1) { edges { node { ${conversationsOf(levels)} } } } }`;
}

function conversationsOf(levels: number): string {
  return levels === 1
    ? 'conversations(first: 100) { edges { node { id message } } }'
    : `conversations(first: 100) { edges { node { id chat { ${conversationsOf(levels - 1)} } } } }`;
}

const refusal = (message: RegExp) => ({
  status: 400,
  errors: [{ message: expect.stringMatching(message), extensions: { code: 'QUERY_TOO_COMPLEX' } }],
});

describe('GraphQL limits, defaults', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ BODY_LIMIT_BYTES: '262144' });
    const { data } = await post(app, 'mutation { createChat(name: "long chat") { id } }');
    const chatId = (data as { createChat: { id: string } }).createChat.id;
    await app.database.prisma.conversation.createMany({
      data: Array.from({ length: 100 }, (_, i) => ({ chatId, role: i % 2 ? 'Assistant' : 'Human', message: `message ${i}` }) as const),
    });
  });
  afterAll(() => app.close());

  it('refuses the five-level cycle over a chat of 100 messages at once, and keeps serving', async () => {
    expect(await post(app, cycleQuery(5))).toMatchObject(refusal(/depth limit of 10 exceeded/));
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('refuses a shallower cycle by its depth', async () => {
    expect(await post(app, cycleQuery(2))).toMatchObject(refusal(/depth limit of 10 exceeded, found 11/));
  });

  it('answers one level of the cycle (a page of messages, each with its chat)', async () => {
    const { status, errors } = await post(app, cycleQuery(1));
    expect({ status, errors }).toEqual({ status: 200, errors: undefined });
  });

  it('refuses 5,000 aliases (a 134 KB document) while parsing, and keeps serving', async () => {
    const query = `{ ${Array.from({ length: 5_000 }, (_, i) => `a${i}: chats { edges { cursor } }`).join(' ')} }`;
    expect(query.length).toBeGreaterThan(100_000);
    const started = performance.now();
    expect(await post(app, query)).toMatchObject(refusal(/Token limit of 1000 exceeded/));
    // Not a timing test: a refusal while parsing stays far below the ~8 s the 5,000 queries took.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it("answers the README's chat list (20 chats with their first 10 messages)", async () => {
    const { status, errors, data } = await post(
      app,
      `query Chats {
        chats(first: 20) {
          edges { cursor node { id name updatedAt
            conversations(first: 10) { edges { node { role message createdAt } } } } }
          pageInfo { hasNextPage endCursor }
        }
      }`,
    );
    expect({ status, errors }).toEqual({ status: 200, errors: undefined });
    expect(data).toMatchObject({ chats: { edges: [{ node: { name: 'long chat' } }] } });
  });

  it("answers GraphiQL's introspection query", async () => {
    const introspection = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      inputValueDeprecation: true,
    });
    const { status, errors, data } = await post(app, introspection);
    expect({ status, errors }).toEqual({ status: 200, errors: undefined });
    expect(data).toHaveProperty('__schema.types');
  });
});

describe('GraphQL limits, cost alone', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ GRAPHQL_MAX_DEPTH: '100' });
  });
  afterAll(() => app.close());

  it.each([5, 4, 3])('refuses the %i-level cycle when the depth limit would let it through', async (levels) => {
    expect(await post(app, cycleQuery(levels))).toMatchObject(refusal(/^Query cost limit of 100000 exceeded, found \d+\.$/));
  });

  it('counts the cost of a subscription before it starts', async () => {
    const response = await app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: `subscription { chatEvents { chat { ${conversationsOf(3)} } } }`,
      }),
    });
    expect(await response.text()).toMatch(/"message":"Query cost limit of 100000 exceeded, found \d+\.".*"code":"QUERY_TOO_COMPLEX"/);
  });
});

describe('GraphQL limits, each just past its bound and at it', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      GRAPHQL_MAX_DEPTH: '4',
      GRAPHQL_MAX_COST: '100',
      GRAPHQL_MAX_ALIASES: '2',
      GRAPHQL_MAX_TOKENS: '60',
      GRAPHQL_MAX_DIRECTIVES: '2',
    });
  });
  afterAll(() => app.close());

  const passes = async (query: string, variables?: Record<string, unknown>) => {
    const { status, errors } = await post(app, query, variables);
    expect({ status, errors }).toEqual({ status: 200, errors: undefined });
  };

  it('depth (fields only: fragments add no level)', async () => {
    await passes('{ chats { edges { node { id } } } }');
    await passes('{ chats { edges { ... on ChatEdge { node { ...Id } } } } } fragment Id on Chat { id }');
    expect(await post(app, '{ chats { edges { node { conversations { __typename } } } } }')).toMatchObject(
      refusal(/^Query depth limit of 4 exceeded, found 5\.$/),
    );
  });

  it('cost, with first/last given literally, by variables or by their defaults', async () => {
    const query = 'query Chats($n: Int) { chats(first: $n) { edges { node { id } } } }';
    await passes(query, { n: 33 }); // 1 + 33 × 3 = 100
    await passes(query); // the default page: 1 + 20 × 3
    expect(await post(app, query, { n: 34 })).toMatchObject(refusal(/^Query cost limit of 100 exceeded, found 103\.$/));
    expect(await post(app, 'query Chats($n: Int = 34) { chats(first: $n) { edges { node { id } } } }')).toMatchObject(refusal(/found 103/));
    expect(await post(app, 'query Chats($n: Int) { chats(last: $n) { edges { node { id } } } }', { n: 34 })).toMatchObject(
      refusal(/found 103/),
    );
    expect(await post(app, '{ chats(first: 34) { edges { node { id } } } }')).toMatchObject(refusal(/found 103/));
  });

  it('aliases (those of __typename are free)', async () => {
    await passes('{ a: chats(first: 1) { edges { cursor } } b: chats(first: 1) { edges { cursor } } t: __typename }');
    expect(
      await post(
        app,
        '{ a: chats(first: 1) { edges { cursor } } b: chats(first: 1) { edges { cursor } } c: chats(first: 1) { edges { cursor } } }',
      ),
    ).toMatchObject(refusal(/^Aliases limit of 2 exceeded, found 3\.$/));
  });

  it('tokens', async () => {
    const fields = (count: number) => `{ ${Array(count).fill('__typename').join(' ')} }`;
    await passes(fields(58)); // 58 names and two braces
    expect(await post(app, fields(59))).toMatchObject(refusal(/^Token limit of 60 exceeded\.$/));
  });

  it('directives', async () => {
    await passes('{ chats(first: 1) @include(if: true) { edges @skip(if: false) { cursor } } }');
    expect(
      await post(app, '{ chats(first: 1) @include(if: true) { edges @skip(if: false) { cursor @include(if: true) } } }'),
    ).toMatchObject(refusal(/^Directives limit of 2 exceeded, found 3\.$/));
  });

  it('answers 400 also to clients that accept only application/json', async () => {
    // Yoga would answer 200 to them for refusals found while parsing or validating.
    for (const query of [
      `{ ${Array(59).fill('__typename').join(' ')} }`,
      '{ chats { edges { node { conversations { __typename } } } } }',
    ]) {
      expect(await post(app, query, undefined, 'application/json')).toMatchObject({
        status: 400,
        errors: [{ extensions: { code: 'QUERY_TOO_COMPLEX' } }],
      });
    }
  });
});

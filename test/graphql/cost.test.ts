import { getIntrospectionQuery, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationCost } from '../../src/graphql/cost.ts';
import { schema } from '../../src/schema/index.ts';

const cost = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  operationCost(schema, parse(query), operationName, variables, 20);

describe('operation cost (the most fields an answer can hold)', () => {
  it('counts every field once outside connections', () => {
    expect(cost('{ chat(id: "x") { id name } }')).toBe(3);
    expect(cost('{ __typename }')).toBe(1);
  });

  it('counts what is below a connection once per item of its page', () => {
    // chats 1 + 5 × (edges 1 + node 1 + id 1)
    expect(cost('{ chats(first: 5) { edges { node { id } } } }')).toBe(16);
    expect(cost('{ chats(last: 5) { edges { node { id } } } }')).toBe(16);
  });

  it('counts a connection without first or last at the default page size', () => {
    expect(cost('{ chats { edges { node { id } } } }')).toBe(1 + 20 * 3);
  });

  it('multiplies nested connections', () => {
    // The README's chat list: 20 chats with their first 10 messages.
    const readme = `query Chats {
      chats(first: 20) {
        edges { cursor node { id name updatedAt
          conversations(first: 10) { edges { node { role message createdAt } } } } }
        pageInfo { hasNextPage endCursor }
      }
    }`;
    const conversations = 1 + 10 * (1 + 1 + 3);
    expect(cost(readme)).toBe(1 + 20 * (1 + 1 + 1 + 3 + conversations + 1 + 2));
  });

  it('reads first and last from variables, their default values included', () => {
    const query = 'query Chats($n: Int, $m: Int = 7) { chats(first: $n) { edges { cursor } } more: chats(last: $m) { edges { cursor } } }';
    expect(cost(query, { n: 50 })).toBe(1 + 50 * 2 + 1 + 7 * 2);
    expect(cost(query, { n: 50, m: 1 })).toBe(1 + 50 * 2 + 1 + 1 * 2);
    expect(cost(query, {})).toBe(1 + 20 * 2 + 1 + 7 * 2);
  });

  it('counts the larger of first and last when both are given', () => {
    expect(cost('{ chats(first: 3, last: 9) { edges { cursor } } }')).toBe(1 + 9 * 2);
  });

  it('counts fragments where they are spread, inline fragments and named ones alike', () => {
    const query = `
      query { chats(first: 2) { edges { node { ...Chat } } } }
      fragment Chat on Chat { id ... on Chat { name } conversations(first: 3) { edges { node { ...Message } } } }
      fragment Message on Conversation { id message }`;
    expect(cost(query)).toBe(1 + 2 * (1 + 1 + (1 + 1 + (1 + 3 * (1 + 1 + 2)))));
  });

  it('counts each fragment once however often it is spread (no exponential measuring)', () => {
    const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
    const query = `{ ...F0 } ${fragments.join(' ')} fragment F40 on Query { __typename }`;
    expect(cost(query)).toBe(2 ** 40);
  });

  it('grows with every level of the Conversation.chat ↔ Chat.conversations cycle', () => {
    const conversationsOf = (levels: number): string =>
      levels === 1
        ? 'conversations(first: 100) { edges { node { id } } }'
        : `conversations(first: 100) { edges { node { chat { ${conversationsOf(levels - 1)} } } } }`;
    const cycle = (levels: number) => `{ chats(first: 1) { edges { node { ${conversationsOf(levels)} } } } }`;
    expect(cost(cycle(1))).toBe(1 + (1 + 1 + (1 + 100 * 3)));
    expect(cost(cycle(5))).toBeGreaterThan(100 ** 5);
  });

  it('counts the operation asked for', () => {
    const query = 'query A { chats(first: 9) { edges { cursor } } } query B { __typename }';
    expect(cost(query, {}, 'A')).toBe(19);
    expect(cost(query, {}, 'B')).toBe(1);
  });

  it('is 0 for requests that execution refuses anyway (invalid variables, unknown operation)', () => {
    expect(cost('query($n: Int!) { chats(first: $n) { edges { cursor } } }', { n: 'many' })).toBe(0);
    expect(cost('query A { __typename }', {}, 'B')).toBe(0);
  });

  it('keeps the introspection query GraphiQL sends cheap', () => {
    expect(cost(getIntrospectionQuery())).toBeLessThan(1_000);
  });
});

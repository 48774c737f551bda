import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { pino } from 'pino';
import { type App, createApp } from '../../src/app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const TEST_BODY_LIMIT = 64 * 1024;

export interface TestApp extends App {
  database: TestDatabase;
  /** Sends a request to the app in-process (no port), like graphql-yoga's own tests. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs a typed GraphQL document and returns the parsed result. */
  graphql<Result, Variables>(
    document: TypedDocumentNode<Result, Variables>,
    ...variables: Variables extends Record<string, never> ? [] : [Variables]
  ): Promise<{ data?: Result | null; errors?: GraphQLErrorJson[]; status: number }>;
  close(): Promise<void>;
}

export interface GraphQLErrorJson {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string };
}

export async function createTestApp(): Promise<TestApp> {
  const database = await createTestDatabase();
  const app = createApp({
    config: { server: { host: '127.0.0.1', port: 0, bodyLimitBytes: TEST_BODY_LIMIT, shutdownTimeoutMs: 1000 } },
    database,
    logger: pino({ level: 'silent' }),
  });
  const request = async (path: string, init?: RequestInit) => app.fetch(new Request(new URL(path, 'http://gateway.test'), init));
  return {
    ...app,
    database,
    request,
    graphql: async (document, ...[variables]) => {
      const response = await request('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: print(document), variables }),
      });
      return { ...(await response.json()), status: response.status };
    },
    close: () => database.dispose(),
  };
}

/** JSON request helper for the REST routes. */
export function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

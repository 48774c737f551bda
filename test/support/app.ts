import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Logger, pino } from 'pino';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { anonymousCaller } from '../../src/services/caller.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const TEST_BODY_LIMIT = 64 * 1024;

/** Who in-process service calls act as: the anonymous owner, whose chats credential-less requests see. */
export const TEST_CALLER = anonymousCaller('test');

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

/**
 * An app on its own database; `env` is read like the process environment (e.g. TGI_URL). Its logger
 * is silent (or at TEST_LOG_LEVEL) unless one is given.
 */
export async function createTestApp(env: Record<string, string> = {}, options: { logger?: Logger } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const app = createApp({
    config: loadConfig({ BODY_LIMIT_BYTES: String(TEST_BODY_LIMIT), ...env }),
    database,
    logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
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
    close: async () => {
      await app.shutdown();
      await database.dispose();
    },
  };
}

/** Sends a GraphQL document as text (for tests that vary credentials or send what codegen would refuse). */
export async function postGraphQL(
  app: Pick<TestApp, 'request'>,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ data?: Record<string, any> | null; errors?: GraphQLErrorJson[]; status: number; headers: Headers }> {
  const response = await app.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { ...(await response.json()), status: response.status, headers: response.headers };
}

/** `Authorization: Bearer <credential>`. */
export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

/** JSON request helper for the REST routes. */
export function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * Serves the app on an ephemeral loopback port, for clients that need a socket (EventSource,
 * graphql-sse), as `main` does; `env` sets the server's timeouts (REQUEST_TIMEOUT_MS…).
 */
export async function listen(
  app: Pick<TestApp, 'fetch'>,
  env: Record<string, string> = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const options = { ...loadConfig(env).server, host: '127.0.0.1', port: 0 };
  const server = await new Promise<Server>((resolve) => {
    const started = startServer(app.fetch, options, () => resolve(started));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The GraphQL subscriptions over SSE, driven by the real graphql-sse client against the app on a
 * loopback port, with the TGI stand-in as the model server. Both graphql-sse modes are covered:
 * distinct connections (Yoga's own SSE on /graphql) and single connection (/graphql/stream).
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient, type EventListeners, type ExecutionResult } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../gql/index.ts';
import { createTestApp, listen, type TestApp } from '../support/app.ts';
import { type SerpApiStandin, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { loadRecording, recordedContent, startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const NewInferenceChat = graphql(`
  mutation NewInferenceChat($name: String!) {
    createChat(name: $name) { id }
  }
`);

const AskQuestion = graphql(`
  mutation AskQuestion($chatId: ID!, $message: String!) {
    createConversation(chatId: $chatId, role: Human, message: $message) { id chatId role }
  }
`);

const InferenceStream = graphql(`
  subscription InferenceStream($id: ID!) {
    inference(conversationId: $id) {
      __typename
      ... on InferenceToken { text }
      ... on InferenceDone {
        conversation { id message status finishReason replyTo { id } }
        usage { totalTokens }
      }
      ... on InferenceError { code detail }
    }
  }
`);

const InternetInferenceStream = graphql(`
  subscription InternetInferenceStream($id: ID!) {
    inference(conversationId: $id, internet: true) {
      __typename
      ... on InferenceSources {
        query
        sources { index title url snippet }
        error { code detail }
      }
      ... on InferenceToken { text }
      ... on InferenceDone {
        conversation { id message status grounded searchQuery sources { index url } searchError { code } }
      }
      ... on InferenceError { code detail }
    }
  }
`);

const ChatEventsStream = graphql(`
  subscription ChatEventsStream($id: ID) {
    chatEvents(chatId: $id) { type chatId conversation { id role } }
  }
`);

interface Mode {
  name: string;
  path: string;
  singleConnection: boolean;
}

const MODES: Mode[] = [
  { name: 'distinct connections (Yoga SSE, /graphql)', path: '/graphql', singleConnection: false },
  { name: 'single connection (graphql-sse, /graphql/stream)', path: '/graphql/stream', singleConnection: true },
];

let tgi: TgiStandin;
let serp: SerpApiStandin;
let app: TestApp;
let server: { url: string; close(): Promise<void> };
let clients: Client[] = [];

beforeAll(async () => {
  [tgi, serp] = await Promise.all([startTgiStandin(), startSerpApiStandin()]);
  app = await createTestApp({
    TGI_URL: tgi.url,
    INFERENCE_GRACE_MS: '200',
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
  });
  server = await listen(app);
});

afterEach(() => {
  for (const client of clients) client.dispose();
  clients = [];
});

afterAll(async () => {
  for (const client of clients) client.dispose();
  await server?.close();
  await app?.close();
  await Promise.all([tgi?.close(), serp?.close()]);
});

/**
 * A graphql-sse client for `mode`, disposed after the test. No retries: a network error must show up
 * as an error at once, not as a reconnect seconds later (which would also ask the model again).
 */
function connect(mode: Mode): Client {
  const client = createClient({ url: `${server.url}${mode.path}`, singleConnection: mode.singleConnection, retryAttempts: 0 });
  clients.push(client);
  return client;
}

function subscribe<Result, Variables>(
  client: Client,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  on?: EventListeners<false>,
): AsyncIterableIterator<ExecutionResult<Result, unknown>> {
  return client.iterate<Result>({ query: print(document), variables: variables as Record<string, unknown> }, on);
}

/** Every result until the subscription completes, or the error it ended with. */
async function drain<Result>(
  iterator: AsyncIterableIterator<ExecutionResult<Result, unknown>>,
): Promise<{ results: ExecutionResult<Result, unknown>[]; error?: unknown }> {
  const results: ExecutionResult<Result, unknown>[] = [];
  try {
    for await (const result of iterator) results.push(result);
  } catch (error) {
    return { results, error };
  }
  return { results };
}

/** The events of a finished inference subscription; fails on any GraphQL error. */
async function inferenceEvents(client: Client, id: string) {
  const { results, error } = await drain(subscribe(client, InferenceStream, { id }));
  expect(error).toBeUndefined();
  for (const result of results) expect(result.errors).toBeUndefined();
  return results.map((result) => result.data!.inference);
}

async function newQuestion(message: string) {
  const chat = await app.graphql(NewInferenceChat, { name: 'Subscriptions' });
  expect(chat.errors).toBeUndefined();
  const question = await app.graphql(AskQuestion, { chatId: chat.data!.createChat.id, message });
  expect(question.errors).toBeUndefined();
  return question.data!.createConversation;
}

/** The finish reason a recorded stream ends with. */
function recordedFinishReason(recording: string): string {
  const reasons = loadRecording(recording)
    .flatMap((chunk) => chunk.choices as { finish_reason: string | null }[])
    .map((choice) => choice.finish_reason)
    .filter((reason) => reason !== null);
  return reasons.at(-1)!;
}

describe.each(MODES)('inference subscription, graphql-sse $name', (mode) => {
  it.each([
    { recording: 'json_schema_stream', totalTokens: null },
    { recording: 'sea_creatures_stream_none', totalTokens: null },
    { recording: 'completion_stream_usage', totalTokens: 50 },
  ])('streams the recorded $recording byte for byte, then InferenceDone', async ({ recording, totalTokens }) => {
    const question = await newQuestion(`Replay ${recording}, please.`);
    const before = tgi.requests.length;
    tgi.script({ kind: 'replay', recording });

    const events = await inferenceEvents(connect(mode), question.id);

    const expected = recordedContent(recording);
    const tokens = events.filter((event) => event.__typename === 'InferenceToken');
    expect(tokens.length).toBeGreaterThan(0);
    expect(events.slice(0, -1).every((event) => event.__typename === 'InferenceToken')).toBe(true);
    expect(tokens.map((event) => event.text).join('')).toBe(expected);

    const done = events.at(-1)!;
    if (done.__typename !== 'InferenceDone') throw new Error(`last event is ${JSON.stringify(done)}`);
    expect(done.conversation).toMatchObject({
      message: expected,
      status: 'COMPLETE',
      finishReason: recordedFinishReason(recording),
      replyTo: { id: question.id },
    });
    expect(done.usage).toEqual(totalTokens === null ? null : { totalTokens });

    // What was streamed is what was stored, and the model was asked once, with the question.
    const stored = await app.database.prisma.conversation.findUniqueOrThrow({ where: { id: done.conversation.id } });
    expect(stored).toMatchObject({ role: 'Assistant', message: expected, status: 'complete', replyToId: question.id });
    expect(tgi.requests.length - before).toBe(1);
    expect(tgi.requests.at(-1)!.body.messages.at(-1)).toEqual({ role: 'user', content: `Replay ${recording}, please.` });
  });

  it('internet: InferenceSources first, then the tokens, then InferenceDone with the stored sources', async () => {
    const question = await newQuestion(`Who discovered penicillin? ${mode.name}`);
    const searches = serp.requests.length;
    tgi.script({ kind: 'tokens', tokens: ['Alexander', ' Fleming', ' [1].'] });

    const { results, error } = await drain(subscribe(connect(mode), InternetInferenceStream, { id: question.id }));
    expect(error).toBeUndefined();
    const events = results.map((result) => result.data!.inference);

    expect(events.map((event) => event.__typename)).toEqual([
      'InferenceSources',
      'InferenceToken',
      'InferenceToken',
      'InferenceToken',
      'InferenceDone',
    ]);
    const [sources] = events;
    if (sources?.__typename !== 'InferenceSources') throw new Error('no sources first');
    expect(sources.error).toBeNull();
    expect(sources.query).toBe(`Who discovered penicillin? ${mode.name}`);
    expect(sources.sources.map((source) => source.index)).toEqual([1, 2, 3]);
    expect(serp.requests.length).toBe(searches + 1);
    // The snippets reached the model.
    const system = tgi.requests.at(-1)!.body.messages[0]!.content as string;
    for (const source of sources.sources) expect(system).toContain(source.snippet);

    const done = events.at(-1)!;
    if (done.__typename !== 'InferenceDone') throw new Error('no InferenceDone last');
    expect(done.conversation).toMatchObject({
      message: 'Alexander Fleming [1].',
      status: 'COMPLETE',
      grounded: true,
      searchQuery: sources.query,
      sources: sources.sources.map(({ index, url }) => ({ index, url })),
      searchError: null,
    });
  });

  it('internet, search out of quota: InferenceSources carries the error and the answer goes on ungrounded', async () => {
    const question = await newQuestion(`Latest news? ${mode.name}`);
    serp.script({ kind: 'error', errorType: 'outOfSearches' });
    tgi.script({ kind: 'tokens', tokens: ['I', ' cannot', ' check.'] });

    const { results, error } = await drain(subscribe(connect(mode), InternetInferenceStream, { id: question.id }));
    expect(error).toBeUndefined();
    const events = results.map((result) => result.data!.inference);
    expect(events[0]).toMatchObject({ __typename: 'InferenceSources', sources: [], error: { code: 'SEARCH_QUOTA_EXCEEDED' } });
    expect(events.at(-1)).toMatchObject({
      __typename: 'InferenceDone',
      conversation: { message: 'I cannot check.', grounded: false, sources: [], searchError: { code: 'SEARCH_QUOTA_EXCEEDED' } },
    });
  });

  it('ends with one InferenceError when the model server is overloaded (429), then completes', async () => {
    const question = await newQuestion('Are you busy?');
    const before = tgi.requests.length;
    tgi.script({ kind: 'http-error', errorType: 'overloaded' });

    const events = await inferenceEvents(connect(mode), question.id);

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ __typename: 'InferenceError', code: 'UPSTREAM_OVERLOADED' });
    expect(tgi.requests.length - before).toBe(1);
    const reply = await app.database.prisma.conversation.findFirstOrThrow({ where: { replyToId: question.id } });
    expect(reply).toMatchObject({ status: 'failed', errorCode: 'UPSTREAM_OVERLOADED' });
  });

  it('streams the tokens sent before a dropped upstream connection, then one InferenceError, then completes', async () => {
    const question = await newQuestion('Tell me, then hang up.');
    const before = tgi.requests.length;
    // Paced, so the tokens leave the stand-in before it destroys the socket (a destroy discards unsent writes).
    tgi.script({ kind: 'drop', afterTokens: ['Once', ' upon', ' a'], pacing: { intervalMs: 10 } });

    const events = await inferenceEvents(connect(mode), question.id);

    const last = events.at(-1)!;
    expect(last).toMatchObject({ __typename: 'InferenceError', code: 'UPSTREAM_ERROR' });
    expect(
      events
        .slice(0, -1)
        .map((event) => (event.__typename === 'InferenceToken' ? event.text : event.__typename))
        .join(''),
    ).toBe('Once upon a');
    expect(tgi.requests.length - before).toBe(1);
  });

  it.each([
    ['an unknown conversation id', '3fa85f64-5717-4562-b3fc-2c963f66afa6'],
    ['a malformed id', 'not-a-uuid'],
  ])('fails with NOT_FOUND for %s, without asking the model', async (_case, id) => {
    const before = tgi.requests.length;

    const { results, error } = await drain(subscribe(connect(mode), InferenceStream, { id }));

    // graphql-sse reports GraphQL errors as a result carrying `errors` (then completes); a thrown
    // error is accepted too if it carries them. A bare NetworkError (an HTTP error status) is not.
    const reported = (
      error === undefined ? results.flatMap((result) => result.errors ?? []) : ((error as { errors?: unknown[] }).errors ?? [error])
    ) as { message: string; extensions?: { code?: string } }[];
    expect(reported.map(({ message, extensions }) => ({ message, code: extensions?.code }))).toEqual([
      { message: expect.stringContaining(JSON.stringify(id)), code: 'NOT_FOUND' },
    ]);
    expect(results.every((result) => result.data == null)).toBe(true);
    expect(tgi.requests.length).toBe(before);
  });
});

describe.each(MODES)('an operation that does not parse or validate, graphql-sse $name', (mode) => {
  it.each([
    ['an unknown field', 'subscription { inference(conversationId: "x") { ... on InferenceToken { nope } } }', /Cannot query field "nope"/],
    ['a missing argument', 'subscription { inference { __typename } }', /argument "conversationId"/],
    ['a syntax error', 'subscription { inference(', /Syntax Error/],
  ])('reaches the client as its GraphQL error (%s), not as a network error to retry', async (_case, query, message) => {
    const { results, error } = await drain(connect(mode).iterate({ query }));
    expect(error).toBeUndefined();
    expect(results.map((result) => result.errors?.map((reported) => reported.message))).toEqual([[expect.stringMatching(message)]]);
    expect(results[0]!.data ?? null).toBeNull();
    // Yoga's HTTP status for the error is not part of it.
    expect(results[0]!.errors![0]!.extensions?.http).toBeUndefined();
  });
});

describe('chatEvents subscription, graphql-sse distinct connections', () => {
  it('tells a dashboard CONVERSATION_CREATED, GENERATION_STARTED, GENERATION_FINISHED in order, for its chat only', async () => {
    const client = connect(MODES[0]!);
    const chat = (await app.graphql(NewInferenceChat, { name: 'Watched' })).data!.createChat;
    const other = (await app.graphql(NewInferenceChat, { name: 'Not watched' })).data!.createChat;

    // `connected` fires once the response headers arrive. Yoga's SSE stream pulls the first result
    // (registering the pub/sub listener) when the server reads the body's first chunk, which
    // @hono/node-server does before it writes the headers: nothing published after this is missed.
    let connected!: () => void;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    const dashboard = subscribe(client, ChatEventsStream, { id: chat.id }, { connected: () => connected() });
    await isConnected;

    await app.graphql(AskQuestion, { chatId: other.id, message: 'Noise in another chat' });
    const question = (await app.graphql(AskQuestion, { chatId: chat.id, message: 'What is new?' })).data!.createConversation;
    tgi.script({ kind: 'tokens', tokens: ['Nothing', ' much', '.'] });
    const events = await inferenceEvents(connect(MODES[0]!), question.id);
    const done = events.at(-1)!;
    if (done.__typename !== 'InferenceDone') throw new Error(`last event is ${JSON.stringify(done)}`);
    const replyId = done.conversation.id;

    // Collect until GENERATION_FINISHED (published once the reply is stored): no sleeps.
    const received = [];
    for await (const result of dashboard) {
      expect(result.errors).toBeUndefined();
      received.push(result.data!.chatEvents);
      if (result.data!.chatEvents.type === 'GENERATION_FINISHED') break;
    }

    expect(received).toEqual([
      { type: 'CONVERSATION_CREATED', chatId: chat.id, conversation: { id: question.id, role: 'Human' } },
      { type: 'GENERATION_STARTED', chatId: chat.id, conversation: { id: replyId, role: 'Assistant' } },
      { type: 'GENERATION_FINISHED', chatId: chat.id, conversation: { id: replyId, role: 'Assistant' } },
    ]);
  });
});

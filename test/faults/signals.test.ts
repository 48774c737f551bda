import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Client, createClient, type ExecutionResult } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropIsolatedSchema, isolatedPostgresUrl } from '../support/database.ts';
import { create, type GatewayProcess, killGateways, type Launcher, REPOSITORY, spawnGateway } from '../support/gateway-process.ts';
import { type SseEvent, sseEvents } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

/**
 * SIGTERM the way a process manager sends it: to the one pid it started, for each documented way of
 * running the service. Nothing may keep the process past its graceful shutdown: not an open
 * graphql-sse connection, not a streaming reply.
 */
const SHUTDOWN_TIMEOUT_MS = 120_000;
/** Far below SHUTDOWN_TIMEOUT_MS (and far above the ~0.2 s a shutdown takes): still running by then, it waits for something it should not. */
const PROMPT_EXIT_MS = 30_000;

let tgi: TgiStandin;
const databases: string[] = [];
const clients: Client<boolean>[] = [];

beforeAll(async () => {
  tgi = await startTgiStandin();
  // The production command runs what `npm run build` made of the sources under test.
  await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: REPOSITORY });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.dispose();
  await killGateways();
});

afterAll(async () => {
  await tgi?.close();
  await Promise.all(databases.map(dropIsolatedSchema));
});

async function startGateway(launcher: Launcher): Promise<GatewayProcess> {
  const url = isolatedPostgresUrl();
  databases.push(url);
  const gateway = await spawnGateway({ DATABASE_URL: url, TGI_URL: tgi.url, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) }, launcher);
  await gateway.ready();
  return gateway;
}

/** A subscription's results as they come, and how it ended. */
function subscribe(client: Client<boolean>, query: string, variables?: Record<string, unknown>) {
  const results: ExecutionResult<Record<string, { __typename?: string; code?: string; type?: string }>>[] = [];
  const ended = new Promise<'complete' | { error: unknown }>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (result) => results.push(result as (typeof results)[number]),
        complete: () => resolve('complete'),
        error: (error) => resolve({ error }),
      },
    );
  });
  return { results, ended };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether every subscription has a result, after waiting a little for them. */
async function allReceived(...subscriptions: { results: unknown[] }[]): Promise<boolean> {
  await sleep(100);
  return subscriptions.every((subscription) => subscription.results.length > 0);
}

const CHAT_EVENTS = 'subscription { chatEvents { type chatId } }';
const INFERENCE = 'subscription ($id: ID!) { inference(conversationId: $id) { __typename ... on InferenceError { code } } }';

describe.each<[string, Launcher]>([
  ['npm start', 'npm'],
  ['node dist/main.js', 'dist'],
])('SIGTERM to the pid of `%s`', (_command, launcher) => {
  it('shuts down gracefully and exits 0 at once: streams end with SHUTDOWN, chatEvents subscribers complete', {
    timeout: 90_000,
  }, async () => {
    const gateway = await startGateway(launcher);

    // Dashboards on both graphql-sse modes; the single connection stays open even with no operation.
    const distinct = createClient({ url: `${gateway.url}/graphql`, retryAttempts: 0 });
    const single = createClient({
      url: `${gateway.url}/graphql/stream`,
      singleConnection: true,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {}, // the connection closing with the server, after its operations completed
    });
    clients.push(distinct, single);
    const dashboards = [subscribe(distinct, CHAT_EVENTS), subscribe(single, CHAT_EVENTS)];
    // Subscribing is asynchronous: chats are created until both dashboards have seen one.
    let chat: { id: string };
    do chat = await create(gateway, '/chats/create', { name: 'shutdown' });
    while (!(await allReceived(...dashboards)));

    // A reply streaming to a REST listener and a GraphQL one (the same generation).
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 2_000 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const question = await create(gateway, '/conversations/create', { chat_id: chat.id, role: 'Human', message: 'long answer?' });
    const rest = sseEvents(await fetch(`${gateway.url}/conversations/inference/${question.id}`));
    expect((await rest.next()).value).toMatchObject({ event: 'message' });
    const answer = subscribe(distinct, INFERENCE, { id: question.id });
    while (!(await allReceived(answer)));

    gateway.signal('SIGTERM');
    const exit = await Promise.race([gateway.exited(), sleep(PROMPT_EXIT_MS).then(() => 'still running')]);
    expect(exit, gateway.logs()).toEqual({ code: 0, signal: null });
    expect(gateway.logs()).toMatch(/"msg":"stopped"/);

    const restEvents: SseEvent[] = [];
    for await (const event of rest) restEvents.push(event);
    expect(restEvents.at(-1)).toMatchObject({ event: 'error', data: { code: 'SHUTDOWN' } });
    expect(await answer.ended).toBe('complete');
    expect(answer.results.at(-1)?.data?.inference).toMatchObject({ __typename: 'InferenceError', code: 'SHUTDOWN' });
    for (const dashboard of dashboards) expect(await dashboard.ended).toBe('complete');
  });
});

describe('Ctrl-C on `npm start` in a terminal (SIGINT to the whole process group)', () => {
  it('shuts down gracefully although the server gets SIGINT twice (from the terminal, and from npm)', async () => {
    const gateway = await startGateway('npm');
    const chat = await create(gateway, '/chats/create', { name: 'ctrl-c' });
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 2_000 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const question = await create(gateway, '/conversations/create', { chat_id: chat.id, role: 'Human', message: 'long answer?' });
    const rest = sseEvents(await fetch(`${gateway.url}/conversations/inference/${question.id}`));
    expect((await rest.next()).value).toMatchObject({ event: 'message' });

    gateway.signalGroup('SIGINT');
    expect(await gateway.exited(), gateway.logs()).toEqual({ code: 0, signal: null });
    const restEvents: SseEvent[] = [];
    for await (const event of rest) restEvents.push(event);
    expect(restEvents.at(-1)).toMatchObject({ event: 'error', data: { code: 'SHUTDOWN' } });
    expect(gateway.logs()).toMatch(/"msg":"stopped"/);
  });
});

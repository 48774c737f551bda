import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_RETRY_AFTER_SECONDS } from '../../src/db/unavailable.ts';
import { HEALTH_CHECK_BUDGET_MS } from '../../src/http/health.ts';
import { type GatewayProcess, killGateways, spawnGateway } from '../support/gateway-process.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.ts';

/**
 * The gateway as a process on a PostgreSQL server of the test's own, which is stopped, frozen and
 * restarted under it. Timeouts are short so that the faults show within seconds.
 */
const TIMEOUTS = {
  DATABASE_CONNECT_TIMEOUT_MS: '1000',
  DATABASE_STATEMENT_TIMEOUT_MS: '1500',
  DATABASE_QUERY_TIMEOUT_MS: '2500',
};
/** Far beyond every timeout above: a request still unanswered by then hangs. */
const HANGS_AFTER_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: PrivatePostgres;
let gateway: GatewayProcess;

beforeAll(async () => {
  server = await startPrivatePostgres();
  gateway = await spawnGateway({ DATABASE_URL: server.url(), ...TIMEOUTS });
  await gateway.ready();
});

afterAll(async () => {
  await killGateways();
  await server?.dispose();
});

afterEach(async () => {
  // A test that failed with the server stopped does not leave it stopped for the next one.
  await server.start().catch(() => {});
});

const request = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, signal: init.signal ?? AbortSignal.timeout(HANGS_AFTER_MS) });

const createChat = async (name: string): Promise<string> => {
  const response = await request('/chats/create', jsonBody('POST', { name }));
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
};

const graphql = async (query: string) => {
  const response = await request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as GraphQLBody };
};

interface GraphQLBody {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

function jsonBody(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

async function expectUnavailable(response: Response) {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
  expect(await response.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
}

/**
 * /healthz answers 503 with the reason. On a frozen server the reason shows that its own budget
 * answered (HEALTH_CHECK_BUDGET_MS), not the database timeouts, which are longer.
 */
async function expectUnhealthy(reason: RegExp) {
  const response = await request('/healthz');
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE', detail: expect.stringMatching(reason) });
}

/** Waits until the gateway answers normally again, without anyone restarting it. */
async function expectRecovery() {
  const deadline = Date.now() + HANGS_AFTER_MS;
  let status = 0;
  while (Date.now() < deadline && status !== 200) {
    status = (await request('/chats/')).status;
    if (status !== 200) await sleep(200);
  }
  expect(status).toBe(200);
  expect((await request('/healthz')).status).toBe(200);
}

/** A transaction of the test's own holding `chatId`'s row, so that the gateway's update of it waits. */
async function lockChat(chatId: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.url() });
  client.on('error', () => {}); // the server is stopped under it
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM chats WHERE id = $1 FOR UPDATE', [chatId]);
  return client;
}

/**
 * Like lockChat, but the lock outlives a server stop: a prepared transaction keeps its locks, where a
 * session's would be released when the shutdown ends it, which could let the gateway's waiting update
 * commit before its own session ends. Released by ROLLBACK PREPARED once the server is back.
 */
async function lockChatAcrossRestart(chatId: string): Promise<{ release(): Promise<void> }> {
  const client = await lockChat(chatId);
  await client.query("PREPARE TRANSACTION 'outage'");
  await client.end();
  return {
    release: async () => {
      const admin = new pg.Client({ connectionString: server.url() });
      await admin.connect();
      await admin.query("ROLLBACK PREPARED 'outage'");
      await admin.end();
    },
  };
}

/** Resolves once PostgreSQL shows a statement of the gateway waiting for a lock. */
async function gatewayWaitsForLock() {
  const observer = new pg.Client({ connectionString: server.url() });
  await observer.connect();
  try {
    for (;;) {
      const { rows } = await observer.query(
        "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'UPDATE%'",
      );
      if (rows[0].waiting > 0) return;
      await sleep(50);
    }
  } finally {
    await observer.end();
  }
}

describe('PostgreSQL stopped', () => {
  it('answers 503 DATABASE_UNAVAILABLE with Retry-After on REST and GraphQL, and recovers when it is back', async () => {
    const chatId = await createChat('before the outage');
    const lock = await lockChatAcrossRestart(chatId);
    const update = request(`/chats/update/${chatId}`, jsonBody('PUT', { name: 'during the outage' }));
    await gatewayWaitsForLock();

    await server.stop(); // fast: sessions are terminated mid-statement
    await expectUnavailable(await update);
    await expectUnavailable(await request('/chats/'));
    const result = await graphql('{ chats(first: 1) { edges { node { id } } } }');
    expect(result.body.errors?.[0]?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
    expect(result).toMatchObject({ status: 503, retryAfter: String(DATABASE_RETRY_AFTER_SECONDS) });
    await expectUnhealthy(/not reachable/);

    await server.start();
    await expectRecovery();
    expect(await (await request(`/chats/${chatId}`)).json()).toMatchObject({ name: 'before the outage' });
    await lock.release();
  });
});

describe('PostgreSQL frozen (SIGSTOP)', () => {
  it('answers 503 within the timeouts instead of hanging, and resumes after the thaw', async () => {
    const chatId = await createChat('before the freeze');
    const lock = await lockChat(chatId);
    const update = request(`/chats/update/${chatId}`, jsonBody('PUT', { name: 'during the freeze' }));
    await gatewayWaitsForLock();

    server.freeze();
    try {
      await expectUnavailable(await update);
      // Connections open in the pool (query timeout) and new ones (connect timeout) alike.
      const answers = await Promise.all(Array.from({ length: 12 }, () => request('/chats/')));
      for (const answer of answers) await expectUnavailable(answer);
      const result = await graphql('{ chats(first: 1) { edges { node { id } } } }');
      expect(result.body.errors?.[0]?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
      expect(result.status).toBe(503);
      await expectUnhealthy(new RegExp(`did not answer within ${HEALTH_CHECK_BUDGET_MS} ms`));
    } finally {
      server.thaw();
    }
    await lock.end();
    await expectRecovery();
  });

  it('does not apply later an update its client gave up on (the statement timeout cancels it)', async () => {
    const chatId = await createChat('kept');
    const lock = await lockChat(chatId);
    const client = new AbortController();
    const update = request(`/chats/update/${chatId}`, { ...jsonBody('PUT', { name: 'applied late' }), signal: client.signal });
    await gatewayWaitsForLock();
    client.abort();
    await expect(update).rejects.toThrow();

    // Well past the statement timeout, the lock holder commits: a statement still waiting would now run.
    await sleep(Number(TIMEOUTS.DATABASE_STATEMENT_TIMEOUT_MS) + 1_000);
    await lock.query('COMMIT');
    await lock.end();
    await sleep(500);
    expect(await (await request(`/chats/${chatId}`)).json()).toMatchObject({ name: 'kept' });
  });
});

describe('PostgreSQL restarted after start-up, before the first query', () => {
  it('does not crash the gateway, which then answers', async () => {
    const fresh = await spawnGateway({ DATABASE_URL: server.url(), ...TIMEOUTS });
    await fresh.printed(/"msg":"listening"/);
    await server.restart();
    // Long enough for a connection broken by the restart to report its error.
    await sleep(500);
    const response = await fetch(`${fresh.url}/chats/`, { signal: AbortSignal.timeout(HANGS_AFTER_MS) });
    expect(response.status, fresh.logs()).toBe(200);
    await fresh.kill();
  });
});

describe('SIGTERM while PostgreSQL is frozen', () => {
  it('still ends the process once the shutdown is done', async () => {
    const fresh = await spawnGateway({ DATABASE_URL: server.url(), ...TIMEOUTS });
    await fresh.ready(); // connections open in its pool
    server.freeze();
    try {
      fresh.signal('SIGTERM');
      const exit = await Promise.race([fresh.exited(), sleep(HANGS_AFTER_MS).then(() => 'still running')]);
      expect(exit, fresh.logs()).toEqual({ code: 0, signal: null });
    } finally {
      server.thaw();
    }
  });
});

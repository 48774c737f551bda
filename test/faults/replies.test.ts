/**
 * A reply under real faults (README "Reply lifecycle"): the gateway as a process of its own, killed
 * with SIGKILL mid-stream and restarted, on PGlite and on PostgreSQL; and a PostgreSQL server of the
 * test's own stopped mid-stream and started again. What a listener saw `done` for is stored complete;
 * what a crash cut off is settled and answered with its stored text and a final error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL } from '../support/database.ts';
import { create, type GatewayProcess, killGateways, spawnGateway } from '../support/gateway-process.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.ts';
import { readSse, type SseEvent, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

/** Saves every 100 ms, a lease of 600 ms: a dead process is noticed within a second. */
const REPLY_TIMING = { INFERENCE_SAVE_INTERVAL_MS: '100', INFERENCE_LEASE_MS: '600', INFERENCE_GRACE_MS: '30000' };

let tgi: TgiStandin;
beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
});
afterAll(async () => {
  await killGateways();
  await tgi?.close();
});

const TOKENS = Array.from({ length: 150 }, (_, i) => `w${i} `);

async function question(gateway: GatewayProcess): Promise<string> {
  const chat = await create(gateway, '/chats/create', { name: 'faults' });
  return (await create(gateway, '/conversations/create', { chat_id: chat.id, role: 'Human', message: 'Tell me everything?' })).id;
}

const infer = (gateway: GatewayProcess, id: string, lastEventId?: string) =>
  fetch(`${gateway.url}/conversations/inference/${id}`, lastEventId ? { headers: { 'last-event-id': lastEventId } } : {});

/** Reads until `count` tokens arrived (then hangs up): the events, and the id to resume from. */
async function readTokens(response: Response, count: number): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(response)) {
    events.push(event);
    if (events.filter((seen) => seen.event === 'message').length >= count) break;
  }
  return events;
}

async function storedReply(url: string, questionId: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT id, status, message, error_code FROM conversations WHERE reply_to_id = $1', [questionId]);
    return rows as { id: string; status: string; message: string; error_code: string | null }[];
  } finally {
    await client.end();
  }
}

/**
 * SIGKILL mid-stream, then a new process on the same store: the reply is settled INTERRUPTED (at
 * start-up on PGlite, once its lease lapses on PostgreSQL), a reconnect with the last id it got gets
 * the stored text it missed and a final error (never 409, never a bare 204), then 204 once it has that.
 */
async function killMidStream(env: Record<string, string>) {
  tgi.script({ kind: 'tokens', tokens: TOKENS, pacing: { intervalMs: 20 } });
  const first = await spawnGateway({ ...REPLY_TIMING, ...env, TGI_URL: tgi.url });
  await first.ready();
  const id = await question(first);
  const seen = await readTokens(await infer(first, id), 40);
  // Let a save or two land, then crash.
  await new Promise((resolve) => setTimeout(resolve, 250));
  await first.kill();

  const second = await spawnGateway({ ...REPLY_TIMING, ...env, TGI_URL: tgi.url });
  await second.ready();
  const lastId = seen.at(-1)!.id;
  const resumed = await infer(second, id, lastId);
  expect(resumed.status).toBe(200);
  const rest = await readSse(resumed);
  const final = rest.at(-1)!;
  expect(final).toMatchObject({ event: 'error', data: { code: 'INTERRUPTED' } });
  // Only that reply's ids, and nothing spliced in from another reply.
  expect(rest.every((event) => event.id.startsWith(`${lastId.split('.')[0]}.`))).toBe(true);
  expect(TOKENS.join('').startsWith(tokensOf(seen) + tokensOf(rest))).toBe(true);
  expect((await infer(second, id, final.id)).status).toBe(204);
  await second.kill();
  return { id, streamed: tokensOf(seen) };
}

describe('a gateway killed with SIGKILL mid-stream, then restarted', () => {
  it('on PGlite: the reply is settled at start-up, a reconnect gets the stored text and INTERRUPTED', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'chat-gateway-kill-'));
    try {
      await killMidStream({ DATABASE_URL: folder });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 120_000);

  it('on PostgreSQL: the reply is settled once its lease lapses', async () => {
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('schema', `faults_kill_${process.pid}`);
    try {
      const { id, streamed } = await killMidStream({ DATABASE_URL: url.toString() });
      const plain = new URL(url);
      plain.searchParams.delete('schema');
      const [reply] = await storedReply(`${plain}?options=${encodeURIComponent(`-c search_path=${url.searchParams.get('schema')}`)}`, id);
      expect(reply).toMatchObject({ status: 'incomplete', error_code: 'INTERRUPTED' });
      // At most one save interval behind what the listener saw before the crash.
      expect(streamed.startsWith(reply!.message) || reply!.message.startsWith(streamed)).toBe(true);
    } finally {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "faults_kill_${process.pid}" CASCADE`);
      await admin.end();
    }
  }, 120_000);
});

describe('PostgreSQL stopped mid-stream, then started again', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await startPrivatePostgres();
  });
  afterAll(() => server?.dispose());

  it('the listener gets done only once the reply is stored complete with exactly the text it streamed', async () => {
    const gateway = await spawnGateway({
      ...REPLY_TIMING,
      DATABASE_URL: server.url(),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '1500',
      DATABASE_QUERY_TIMEOUT_MS: '2500',
      TGI_URL: tgi.url,
    });
    await gateway.ready();
    const id = await question(gateway);
    tgi.script({ kind: 'tokens', tokens: TOKENS.slice(0, 60), pacing: { intervalMs: 20 } });
    const events = sseEvents(await infer(gateway, id));
    const received: SseEvent[] = [];
    for (let next = await events.next(); !next.done; next = await events.next()) {
      received.push(next.value);
      // The database goes away while tokens still flow, and comes back after the model has finished.
      if (received.length === 10) {
        await server.stop();
        setTimeout(() => void server.start(), 2_500);
      }
    }
    const done = received.at(-1)!;
    expect(done.event).toBe('done');
    const streamed = tokensOf(received);
    expect(streamed).toBe(TOKENS.slice(0, 60).join(''));
    expect(done.data.conversation).toMatchObject({ status: 'complete', message: streamed });
    expect(await storedReply(server.url(), id)).toEqual([expect.objectContaining({ status: 'complete', message: streamed })]);
    await gateway.kill();
  }, 60_000);
});

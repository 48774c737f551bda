/**
 * Section 1: request/response throughput and latency of the same reads through the raw node:http
 * baseline (bench/raw-handler.ts), the legacy REST routes and GraphQL (POST, and GET with the query
 * in the URL), on PGlite and on PostgreSQL. Every variant is loaded by autocannon in its own
 * process, one variant at a time, and each run measures a variant right after its baseline, so the
 * ratios compare figures taken within seconds of each other.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { autocannon, type HttpLoadResult, type HttpRequestSpec } from './lib/http-load.ts';
import { type Child, freePort, postgresSchema, spawnNode, startGateway, waitForOk } from './lib/processes.ts';
import { restSeedWriter, seedChats } from './lib/seed.ts';
import { countListStatements, type ListCost, listQuery, measureListCost, type StatementCounts } from './lib/statements.ts';
import { type OverRuns, overRuns } from './lib/stats.ts';

export interface RequestResponseSettings {
  runs: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** GraphQL lists per store and chat length in the list-cost measurement. */
  listRequests: number;
}

type Store = 'pglite' | 'postgres';

/** Where each server keeps the chat ids its reads use (PGlite stores differ per process). */
interface Targets {
  raw: { url: string; chatId: string };
  gateway: { url: string; chatId: string };
}

interface Variant {
  name: string;
  /** The variant this one is compared with; none for a baseline. */
  baseline?: string;
  server: keyof Targets;
  request: (chatId: string) => HttpRequestSpec;
}

const CHAT_QUERY = 'query Chat($id: ID!) { chat(id: $id) { id name createdAt updatedAt } }';
const json = { 'content-type': 'application/json' };
const graphqlPost = (query: string, variables?: object): HttpRequestSpec => ({
  method: 'POST',
  path: '/graphql',
  headers: json,
  body: JSON.stringify({ query, variables }),
});
const graphqlGet = (query: string, variables?: object): HttpRequestSpec => ({
  method: 'GET',
  path: `/graphql?${new URLSearchParams({ query, ...(variables ? { variables: JSON.stringify(variables) } : {}) })}`,
});
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** GET with the operation's hash instead of its text (the gateway's PERSISTED_OPERATIONS_FILE holds it). */
const graphqlPersistedGet = (query: string, variables?: object): HttpRequestSpec => ({
  method: 'GET',
  path: `/graphql?${new URLSearchParams({
    extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(query) } }),
    ...(variables ? { variables: JSON.stringify(variables) } : {}),
  })}`,
});
const PERSISTED_OPERATIONS_FILE = 'bench/raw/persisted-operations.json';

/** The two reads of the issue, each with its variants; baselines first. */
export const READS: { read: string; variants: Variant[] }[] = [
  {
    read: 'get one chat',
    variants: [
      { name: 'raw node:http', server: 'raw', request: (id) => ({ method: 'GET', path: `/chats/${id}` }) },
      {
        name: 'REST GET /chats/<id>',
        baseline: 'raw node:http',
        server: 'gateway',
        request: (id) => ({ method: 'GET', path: `/chats/${id}` }),
      },
      { name: 'GraphQL POST', baseline: 'raw node:http', server: 'gateway', request: (id) => graphqlPost(CHAT_QUERY, { id }) },
      { name: 'GraphQL GET', baseline: 'raw node:http', server: 'gateway', request: (id) => graphqlGet(CHAT_QUERY, { id }) },
      {
        name: 'GraphQL persisted GET',
        baseline: 'raw node:http',
        server: 'gateway',
        request: (id) => graphqlPersistedGet(CHAT_QUERY, { id }),
      },
    ],
  },
  {
    read: 'list 20 chats with their last 10 conversations',
    variants: [
      { name: 'raw node:http', server: 'raw', request: () => ({ method: 'GET', path: '/chats-with-conversations' }) },
      { name: 'raw node:http, chats only', server: 'raw', request: () => ({ method: 'GET', path: '/chats' }) },
      // The closest REST route: no REST route returns chats with their conversations.
      {
        name: 'REST GET /chats/ (chats only)',
        baseline: 'raw node:http, chats only',
        server: 'gateway',
        request: () => ({ method: 'GET', path: '/chats/' }),
      },
      { name: 'GraphQL POST', baseline: 'raw node:http', server: 'gateway', request: () => graphqlPost(listQuery(20)) },
      { name: 'GraphQL GET', baseline: 'raw node:http', server: 'gateway', request: () => graphqlGet(listQuery(20)) },
      { name: 'GraphQL persisted GET', baseline: 'raw node:http', server: 'gateway', request: () => graphqlPersistedGet(listQuery(20)) },
    ],
  },
];

export interface VariantResult {
  name: string;
  baseline?: string;
  responseBytes: number;
  runs: HttpLoadResult[];
  requestsPerSecond: OverRuns;
  latencyP50Ms: OverRuns;
  latencyP99Ms: OverRuns;
  /** Against the baseline measured in the same run. */
  throughputRatio?: OverRuns;
  p50AddedMs?: OverRuns;
  p99AddedMs?: OverRuns;
}

export interface RequestResponseResults {
  settings: RequestResponseSettings;
  stores: { store: Store; reads: { read: string; variants: VariantResult[] }[] }[];
  statements: StatementCounts;
  listCost: ListCost[];
}

export async function runRequestResponse(settings: RequestResponseSettings, log: (line: string) => void): Promise<RequestResponseResults> {
  const stores: RequestResponseResults['stores'] = [];
  for (const store of ['pglite', 'postgres'] as const) {
    log(`request/response on ${store}`);
    stores.push({ store, reads: await withServers(store, (targets) => measureStore(targets, settings, log)) });
  }
  log('counting SQL statements per list request');
  const statements = await countListStatements();
  log('one list of chats holding 10 messages each, and 1,000 each');
  return { settings, stores, statements, listCost: await measureListCost(settings.listRequests) };
}

/** Gateway and raw handler on the same data: one PostgreSQL schema, or one PGlite each seeded alike. */
async function withServers<T>(store: Store, work: (targets: Targets) => Promise<T>): Promise<T> {
  const schema = store === 'postgres' ? postgresSchema('rr') : undefined;
  const databaseUrl = schema?.url ?? 'memory://';
  const children: Child[] = [];
  try {
    const manifest = Object.fromEntries([CHAT_QUERY, listQuery(20)].map((query) => [sha256(query), query]));
    await writeFile(PERSISTED_OPERATIONS_FILE, JSON.stringify(manifest));
    const gateway = await startGateway({ DATABASE_URL: databaseUrl, PERSISTED_OPERATIONS_FILE });
    children.push(gateway);
    await seedChats(restSeedWriter(gateway.url));

    const rawPort = await freePort();
    const raw = spawnNode([], 'bench/raw-handler.ts', {
      PORT: String(rawPort),
      DATABASE_URL: databaseUrl,
      RAW_SEED: store === 'pglite' ? '1' : '0',
    });
    children.push(raw);
    const rawUrl = `http://127.0.0.1:${rawPort}`;
    await waitForOk(`${rawUrl}/chats`, 'raw handler', raw);

    const firstChat = async (url: string) => ((await (await fetch(url)).json()) as { id: string }[])[0]!.id;
    return await work({
      raw: { url: rawUrl, chatId: await firstChat(`${rawUrl}/chats`) },
      gateway: { url: gateway.url, chatId: await firstChat(`${gateway.url}/chats/`) },
    });
  } finally {
    for (const child of children.reverse()) await child.stop();
    await schema?.drop();
  }
}

async function measureStore(targets: Targets, settings: RequestResponseSettings, log: (line: string) => void) {
  const load = (variant: Variant, durationSeconds: number) => {
    const target = targets[variant.server];
    return autocannon(target.url, variant.request(target.chatId), { connections: settings.connections, durationSeconds });
  };
  const results = [];
  for (const { read, variants } of READS) {
    const responseBytes = new Map<string, number>();
    for (const variant of variants) {
      responseBytes.set(variant.name, await checkResponse(targets, variant));
      if (settings.warmupSeconds > 0) await load(variant, settings.warmupSeconds);
    }
    const runs = new Map<string, HttpLoadResult[]>(variants.map((v) => [v.name, []]));
    for (let run = 0; run < settings.runs; run += 1) {
      for (const variant of variants) {
        const result = await load(variant, settings.durationSeconds);
        if (result.failures > 0) throw new Error(`${read} / ${variant.name}: ${result.failures} failed requests`);
        runs.get(variant.name)!.push(result);
        log(`  ${read} | ${variant.name} | run ${run + 1}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.latencyP99Ms} ms`);
      }
    }
    results.push({
      read,
      variants: variants.map((variant): VariantResult => {
        const own = runs.get(variant.name)!;
        const base = variant.baseline ? runs.get(variant.baseline)! : undefined;
        const paired = (figure: (mine: HttpLoadResult, baseline: HttpLoadResult) => number) =>
          base ? overRuns(own.map((mine, run) => figure(mine, base[run]!))) : undefined;
        return {
          name: variant.name,
          baseline: variant.baseline,
          responseBytes: responseBytes.get(variant.name)!,
          runs: own,
          requestsPerSecond: overRuns(own.map((r) => r.requestsPerSecond)),
          latencyP50Ms: overRuns(own.map((r) => r.latencyP50Ms)),
          latencyP99Ms: overRuns(own.map((r) => r.latencyP99Ms)),
          throughputRatio: paired((mine, baseline) => mine.requestsPerSecond / baseline.requestsPerSecond),
          p50AddedMs: paired((mine, baseline) => mine.latencyP50Ms - baseline.latencyP50Ms),
          p99AddedMs: paired((mine, baseline) => mine.latencyP99Ms - baseline.latencyP99Ms),
        };
      }),
    });
  }
  return results;
}

/** One request before the load: it must succeed (no GraphQL errors either); answers the body size. */
async function checkResponse(targets: Targets, variant: Variant): Promise<number> {
  const target = targets[variant.server];
  const spec = variant.request(target.chatId);
  const response = await fetch(`${target.url}${spec.path}`, { method: spec.method, headers: spec.headers, body: spec.body });
  const body = await response.text();
  if (!response.ok || body.includes('"errors"')) throw new Error(`${variant.name}: ${response.status} ${body.slice(0, 300)}`);
  return Buffer.byteLength(body);
}

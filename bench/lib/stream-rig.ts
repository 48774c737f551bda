/**
 * What the streaming and scale sections share: one gateway on PostgreSQL (the production store), the
 * TGI stand-in and the stream load generator, each in its own process, and one measurement = one
 * batch of N streams with the gateway's CPU, memory and event loop observed over the same window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ProbeWindow } from './loop-probe.ts';
import { machineCpuMs, postgresCpuMs, processCpuMs } from './machine.ts';
import { type Child, type Gateway, postgresSchema, spawnNode, startGateway, startLeanRelay } from './processes.ts';
import { restSeedWriter } from './seed.ts';
import type { StreamRunArgs, StreamRunResult, StreamVariant } from './stream-client.ts';

export interface StreamMeasurement {
  variant: StreamVariant;
  streams: number;
  tokens: number;
  client: StreamRunResult;
  gateway: ProbeWindow & {
    /** Gateway CPU over the window divided by the tokens the clients received. */
    cpuPerTokenUs: number;
    /** Gateway CPU time / wall time (1 = one core busy). */
    cpuCores: number;
    /** Peak RSS during the window minus RSS at its start (after a full GC), per stream. */
    rssPerStreamKB: number;
    heapPerStreamKB: number;
  };
  /** CPU cores busy over the window, by process. */
  cores: { machine: number; standin: number; client: number; postgres: number };
  /** Every gateway the streams went to, in the order of `options.gateways` (the first is `gateway`). */
  perGateway: { cpuMs: number; cpuCores: number }[];
}

export interface MeasureOptions {
  tokens: number;
  rampMs: number;
  /** Gateways (indexes into `gateways`) the streams are split among, in order (default: the first). */
  gateways?: number[];
  /** Each gateway's block of streams asks the same questions: listeners of the same replies everywhere. */
  sameQuestions?: boolean;
  /** The gateway on PGlite instead (the rig must have been made with `pgliteQuestions`). */
  pglite?: boolean;
}

export interface StreamRig {
  readonly gateway: Gateway;
  readonly gateways: Gateway[];
  /** bench/lean-relay.ts, which variant 'relay' reads. */
  readonly relay: Gateway;
  measure(variant: StreamVariant, streams: number, options: MeasureOptions): Promise<StreamMeasurement>;
  profile<T>(path: string, work: () => Promise<T>): Promise<T>;
}

/**
 * `gatewayEnvs`: one gateway per entry, with that environment on top of the rig's (default: one gateway).
 * They share the database schema.
 */
export async function withStreamRig<T>(
  settings: {
    questions: number;
    tokenIntervalMs: number;
    epochMs: number;
    gatewayEnvs?: Record<string, string>[];
    /** Also a gateway on PGlite (a folder of its own), with this many questions. */
    pgliteQuestions?: number;
  },
  work: (rig: StreamRig) => Promise<T>,
): Promise<T> {
  const schema = postgresSchema('stream');
  const children: Child[] = [];
  const pgliteFolder = await mkdtemp(join(tmpdir(), 'bench-pglite-'));
  try {
    const env = { BENCH_EPOCH_MS: String(settings.epochMs), BENCH_TICK_MS: String(settings.tokenIntervalMs) };
    const standin = spawnNode([], 'bench/lib/tgi-process.ts', env);
    children.push(standin);
    const standinUrl = await standin.call<string>('url');
    const client = spawnNode([], 'bench/lib/stream-client.ts', env);
    children.push(client);
    const gateways: Gateway[] = [];
    for (const [index, extra] of (settings.gatewayEnvs ?? [{}]).entries()) {
      // The first applies the migrations; the others find them applied.
      const gateway = await startGateway({
        DATABASE_URL: schema.url,
        TGI_URL: standinUrl,
        MIGRATE_ON_START: String(index === 0),
        ...extra,
      });
      children.push(gateway);
      gateways.push(gateway);
    }
    const gateway = gateways[0]!;
    const questionIds = await seedQuestions(schema.url, settings.questions);
    const relay = await startLeanRelay(standinUrl);
    children.push(relay);
    let pglite: { gateway: Gateway; questionIds: string[] } | undefined;
    if (settings.pgliteQuestions) {
      const onPglite = await startGateway({ DATABASE_URL: join(pgliteFolder, 'data'), TGI_URL: standinUrl });
      children.push(onPglite);
      pglite = { gateway: onPglite, questionIds: await seedQuestionsThroughRest(onPglite.url, settings.pgliteQuestions) };
    }

    let configuredTokens = 0;
    const rig: StreamRig = {
      gateway,
      gateways,
      relay,
      async measure(variant, streams, { tokens, rampMs, gateways: targets = [0], sameQuestions = false, pglite: onPglite = false }) {
        if (onPglite && !pglite) throw new Error('no PGlite gateway in this rig');
        const questions = onPglite ? pglite!.questionIds : questionIds;
        if (streams > questions.length) throw new Error(`only ${questions.length} questions seeded`);
        const measured = variant === 'relay' ? [relay] : onPglite ? [pglite!.gateway] : targets.map((index) => gateways[index]!);
        const perBlock = Math.ceil(streams / targets.length);
        if (tokens !== configuredTokens) await standin.call('configure', { tokens });
        configuredTokens = tokens;
        const args: StreamRunArgs = {
          variant,
          streams,
          rampMs,
          tokens,
          tokenIntervalMs: settings.tokenIntervalMs,
          relayUrl: relay.url,
          gatewayUrl: measured[0]!.url,
          gatewayUrls: measured.map((target) => target.url),
          questionIds: sameQuestions
            ? Array.from({ length: streams }, (_, index) => questions[index % perBlock]!)
            : questions.slice(0, streams),
        };
        await Promise.all(measured.map((target) => target.windowStart()));
        const before = {
          machine: machineCpuMs(),
          standin: processCpuMs(standin.pid),
          client: processCpuMs(client.pid),
          postgres: postgresCpuMs(),
        };
        const result = await client.call<StreamRunResult>('run', args as unknown as Record<string, unknown>);
        const machine = machineCpuMs();
        const after = { standin: processCpuMs(standin.pid), client: processCpuMs(client.pid), postgres: postgresCpuMs() };
        const windows = await Promise.all(measured.map((target) => target.windowEnd()));
        const window = windows[0]!;
        const cores = (ms: number) => ms / window.wallMs;
        return {
          variant,
          streams,
          tokens,
          client: result,
          gateway: {
            ...window,
            cpuPerTokenUs: (window.cpuMs * 1000) / Math.max(1, result.tokensReceived),
            cpuCores: cores(window.cpuMs),
            rssPerStreamKB: (window.rssPeakBytes - window.rssBeforeBytes) / 1024 / streams,
            heapPerStreamKB: (window.heapPeakBytes - window.heapBeforeBytes) / 1024 / streams,
          },
          cores: {
            machine: ((machine.busy - before.machine.busy) / (machine.total - before.machine.total)) * cpus().length,
            standin: cores(after.standin - before.standin),
            client: cores(after.client - before.client),
            postgres: cores(after.postgres - before.postgres),
          },
          perGateway: windows.map((each) => ({ cpuMs: each.cpuMs, cpuCores: each.cpuMs / each.wallMs })),
        };
      },
      async profile(path, profiled) {
        await gateway.call('profile-start');
        try {
          return await profiled();
        } finally {
          await gateway.call('profile-stop', { path });
        }
      },
    };
    return await work(rig);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await schema.drop();
    await rm(pgliteFolder, { recursive: true, force: true });
  }
}

/** One chat with one Human message per stream, through the REST routes (a PGlite folder belongs to its gateway). */
async function seedQuestionsThroughRest(url: string, count: number): Promise<string[]> {
  const writer = restSeedWriter(url);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const chatId = await writer.createChat(`stream ${index}`);
    ids.push(await writer.createConversation(chatId, 'Human', 'Tell me something.'));
  }
  return ids;
}

/** One chat with one Human message per stream, inserted with SQL (thousands through REST would take long). */
async function seedQuestions(url: string, count: number): Promise<string[]> {
  const schema = new URL(url).searchParams.get('schema')!;
  const target = new URL(url);
  target.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: target.toString(), options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    // Bench streams are anonymous (AUTH=none): their chats belong to the anonymous owner.
    await client.query(
      `INSERT INTO chats (id, name, owner_id) SELECT gen_random_uuid(), 'stream ' || g, 'anonymous' FROM generate_series(1, $1) AS g`,
      [count],
    );
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO conversations (id, role, chat_id, message)
       SELECT gen_random_uuid(), 'Human', id, 'Tell me something.' FROM chats RETURNING id`,
    );
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

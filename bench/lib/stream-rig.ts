/**
 * What the streaming and scale sections share: one gateway on PostgreSQL (the production store), the
 * TGI stand-in and the stream load generator, each in its own process, and one measurement = one
 * batch of N streams with the gateway's CPU, memory and event loop observed over the same window.
 */
import { cpus } from 'node:os';
import pg from 'pg';
import type { ProbeWindow } from './loop-probe.ts';
import { machineCpuMs, postgresCpuMs, processCpuMs } from './machine.ts';
import { type Child, type Gateway, postgresSchema, spawnNode, startGateway } from './processes.ts';
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
}

export interface StreamRig {
  readonly gateway: Gateway;
  measure(variant: StreamVariant, streams: number, options: { tokens: number; rampMs: number }): Promise<StreamMeasurement>;
  profile<T>(path: string, work: () => Promise<T>): Promise<T>;
}

export async function withStreamRig<T>(
  settings: { questions: number; tokenIntervalMs: number; epochMs: number },
  work: (rig: StreamRig) => Promise<T>,
): Promise<T> {
  const schema = postgresSchema('stream');
  const children: Child[] = [];
  try {
    const env = { BENCH_EPOCH_MS: String(settings.epochMs), BENCH_TICK_MS: String(settings.tokenIntervalMs) };
    const standin = spawnNode([], 'bench/lib/tgi-process.ts', env);
    children.push(standin);
    const standinUrl = await standin.call<string>('url');
    const client = spawnNode([], 'bench/lib/stream-client.ts', env);
    children.push(client);
    const gateway = await startGateway({ DATABASE_URL: schema.url, TGI_URL: standinUrl });
    children.push(gateway);
    const questionIds = await seedQuestions(schema.url, settings.questions);

    let configuredTokens = 0;
    const rig: StreamRig = {
      gateway,
      async measure(variant, streams, { tokens, rampMs }) {
        if (streams > questionIds.length) throw new Error(`only ${questionIds.length} questions seeded`);
        if (tokens !== configuredTokens) await standin.call('configure', { tokens });
        configuredTokens = tokens;
        const args: StreamRunArgs = {
          variant,
          streams,
          rampMs,
          tokens,
          tokenIntervalMs: settings.tokenIntervalMs,
          standinUrl,
          gatewayUrl: gateway.url,
          questionIds: questionIds.slice(0, streams),
        };
        await gateway.windowStart();
        const before = { machine: machineCpuMs(), standin: processCpuMs(standin.pid), client: processCpuMs(client.pid), postgres: postgresCpuMs() };
        const result = await client.call<StreamRunResult>('run', args as unknown as Record<string, unknown>);
        const machine = machineCpuMs();
        const after = { standin: processCpuMs(standin.pid), client: processCpuMs(client.pid), postgres: postgresCpuMs() };
        const window = await gateway.windowEnd();
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
  }
}

/** One chat with one Human message per stream, inserted with SQL (thousands through REST would take long). */
async function seedQuestions(url: string, count: number): Promise<string[]> {
  const schema = new URL(url).searchParams.get('schema')!;
  const target = new URL(url);
  target.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: target.toString(), options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    await client.query(`INSERT INTO chats (id, name) SELECT gen_random_uuid(), 'stream ' || g FROM generate_series(1, $1) AS g`, [count]);
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO conversations (id, role, chat_id, message)
       SELECT gen_random_uuid(), 'Human', id, 'Tell me something.' FROM chats RETURNING id`,
    );
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

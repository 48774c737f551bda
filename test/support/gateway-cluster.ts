/**
 * Gateway instances as separate processes (`src/main.ts`, as in production) sharing one PostgreSQL
 * schema and one Redis, for tests of what crosses instances: each has its own port and its own
 * event loop, and can be stopped with SIGTERM or killed with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, POSTGRES_URL, type TestDatabase } from './database.ts';
import { freePort } from './private-redis.ts';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  readonly url: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Log lines (pino JSON) the process wrote, for assertions and for failure messages. */
  readonly output: string[];
  request(path: string, init?: RequestInit): Promise<Response>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export interface GatewayCluster {
  /** The shared database, migrated, for assertions on stored rows. */
  readonly database: TestDatabase;
  readonly gateways: GatewayProcess[];
  /** One more instance with the cluster's environment (plus `env`). */
  start(env?: Record<string, string>): Promise<GatewayProcess>;
  /** Kills every instance still running and drops the schema. */
  close(): Promise<void>;
}

/** A PostgreSQL schema of its own (never PGlite: one process per folder) and `env` for every instance. */
export async function startGatewayCluster(count: number, env: Record<string, string>): Promise<GatewayCluster> {
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', `faults_${process.pid}_${randomBytes(4).toString('hex')}`);
  const database = await createTestDatabase(url.toString());
  const gateways: GatewayProcess[] = [];
  const start = async (extra: Record<string, string> = {}) => {
    const gateway = await startGateway({ LOG_LEVEL: 'warn', ...env, ...extra, DATABASE_URL: url.toString(), MIGRATE_ON_START: 'false' });
    gateways.push(gateway);
    return gateway;
  };
  try {
    await Promise.all(Array.from({ length: count }, () => start()));
  } catch (error) {
    await Promise.all(gateways.map((gateway) => gateway.kill('SIGKILL')));
    await database.dispose();
    throw error;
  }
  return {
    database,
    gateways,
    start,
    async close() {
      await Promise.all(gateways.map((gateway) => gateway.kill('SIGKILL')));
      await database.dispose();
    },
  };
}

async function startGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPOSITORY,
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output.join('\n')}`);
    if (
      await fetch(`${url}/healthz`).then(
        (response) => response.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not become ready:\n${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    process: child,
    exited,
    output,
    request: (path, init) => fetch(new URL(path, url), init),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

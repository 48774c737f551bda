/**
 * Gateway instances as separate processes (`src/main.ts`, as in production) sharing one PostgreSQL
 * schema and one Redis, for tests of what crosses instances: each has its own port and its own
 * event loop, and can be stopped with SIGTERM or killed with SIGKILL.
 */
import { randomBytes } from 'node:crypto';
import { createTestDatabase, POSTGRES_URL, type TestDatabase } from './database.ts';
import { type GatewayProcess, spawnGateway } from './gateway-process.ts';

/** One instance of a cluster: a gateway process, with requests sent to it. */
export interface ClusterGateway {
  readonly url: string;
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Sends `signal` as a process manager does (SIGTERM to drain, SIGKILL to crash); resolves with the exit code. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export interface GatewayCluster {
  /** The shared database, migrated, for assertions on stored rows. */
  readonly database: TestDatabase;
  readonly gateways: ClusterGateway[];
  /** One more instance with the cluster's environment (plus `env`). */
  start(env?: Record<string, string>): Promise<ClusterGateway>;
  /** Kills every instance still running and drops the schema. */
  close(): Promise<void>;
}

/** A PostgreSQL schema of its own (never PGlite: one process per folder) and `env` for every instance. */
export async function startGatewayCluster(count: number, env: Record<string, string>): Promise<GatewayCluster> {
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', `faults_${process.pid}_${randomBytes(4).toString('hex')}`);
  const database = await createTestDatabase(url.toString());
  const processes: GatewayProcess[] = [];
  const gateways: ClusterGateway[] = [];
  const start = async (extra: Record<string, string> = {}) => {
    const child = await spawnGateway({ LOG_LEVEL: 'warn', ...env, ...extra, DATABASE_URL: url.toString(), MIGRATE_ON_START: 'false' });
    processes.push(child);
    await child.ready();
    const gateway: ClusterGateway = {
      url: child.url,
      request: (path, init) => fetch(new URL(path, child.url), init),
      kill: async (signal) => {
        if (signal === 'SIGKILL') return (await child.kill()).code;
        child.signal(signal);
        return (await child.exited()).code;
      },
    };
    gateways.push(gateway);
    return gateway;
  };
  const killAll = () => Promise.all(processes.map((child) => child.kill()));
  try {
    await Promise.all(Array.from({ length: count }, () => start()));
  } catch (error) {
    await killAll();
    await database.dispose();
    throw error;
  }
  return {
    database,
    gateways,
    start,
    async close() {
      await killAll();
      await database.dispose();
    },
  };
}

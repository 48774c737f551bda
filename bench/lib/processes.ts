/**
 * The processes a benchmark runs: gateway, raw handler, TGI stand-in and stream load generator each
 * get their own process, so that no measuring code shares an event loop with what it measures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import pg from 'pg';
import type { ProbeWindow } from './loop-probe.ts';
import { rpcClient } from './rpc.ts';

export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A benchmark is one client (one address) going far past any per-client limit: every limit off. */
export const WITHOUT_LIMITS = {
  LIMIT_REQUESTS_PER_MINUTE: '0',
  LIMIT_GENERATIONS_PER_MINUTE: '0',
  LIMIT_CONCURRENT_STREAMS: '0',
  LIMIT_COMPLETION_TOKENS_PER_DAY: '0',
  LIMIT_SEARCHES_PER_DAY: '0',
};

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  call<T>(op: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** `node --import tsx <args>` with an IPC channel; its output goes to ours, prefixed errors included. */
export function spawnNode(nodeArgs: string[], script: string, env: Record<string, string>): Child {
  // tsx first: later --import flags may name .ts files.
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    pid: child.pid!,
    call: rpcClient(child),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `url` until it answers 2xx; gives up early if `child` exits. */
export async function waitForOk(url: string, what: string, child?: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.process.exitCode !== null) throw new Error(`${what} exited with ${child.process.exitCode}`);
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
}

export interface Gateway extends Child {
  readonly url: string;
  windowStart(): Promise<void>;
  windowEnd(): Promise<ProbeWindow>;
}

/** src/main.ts as in production, plus the probe (CPU, memory, event loop, profiles) and --expose-gc for it. */
export function startGateway(env: Record<string, string>): Promise<Gateway> {
  return startProbed('src/main.ts', 'gateway', { LOG_LEVEL: 'warn', ...WITHOUT_LIMITS, ...env });
}

/** bench/lean-relay.ts, the streaming baseline, observed by the same probe as the gateway. */
export function startLeanRelay(tgiUrl: string): Promise<Gateway> {
  return startProbed('bench/lean-relay.ts', 'lean relay', { TGI_URL: tgiUrl });
}

async function startProbed(script: string, what: string, env: Record<string, string>): Promise<Gateway> {
  const port = await freePort();
  const child = spawnNode(['--expose-gc', '--import', './bench/lib/loop-probe.ts'], script, {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/healthz`, what, child);
  return {
    ...child,
    url,
    windowStart: () => child.call('window-start'),
    windowEnd: () => child.call<ProbeWindow>('window-end'),
  };
}

/** A fresh schema on the benchmark's PostgreSQL; `drop` removes it with everything in it. */
export function postgresSchema(tag: string) {
  const schema = `bench_${tag}_${process.pid}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

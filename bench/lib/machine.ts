/** What the figures were measured on, and CPU time of other processes read from /proc (Linux). */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';
import { POSTGRES_URL } from './processes.ts';

const PACKAGES = [
  'graphql-yoga',
  'graphql',
  '@pothos/core',
  '@pothos/plugin-prisma',
  '@prisma/client',
  '@prisma/adapter-pg',
  'pglite-prisma-adapter',
  '@electric-sql/pglite',
  'pg',
  'hono',
  '@hono/node-server',
  'graphql-sse',
  '@huggingface/inference',
  'autocannon',
];

export async function describeMachine() {
  const versions = Object.fromEntries(
    PACKAGES.map((name) => [name, (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version]),
  );
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  const postgres = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await client.end();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: execSync('uname -sr').toString().trim(),
    node: process.version,
    postgres,
    versions,
    date: new Date().toISOString(),
  };
}

const TICK_MS = 1000 / Number(execSync('getconf CLK_TCK').toString().trim());

/** User + system CPU milliseconds a process has used so far (0 once it is gone). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU milliseconds of every PostgreSQL server process (other users of the server included). */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += processCpuMs(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

/** Busy and total CPU time of the whole machine, all cores, in milliseconds. */
export function machineCpuMs(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const idle = ticks[3]! + ticks[4]!;
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

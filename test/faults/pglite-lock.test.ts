import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/db/folder-lock.ts';
import { killGateways, REPOSITORY, spawnGateway } from '../support/gateway-process.ts';

/** One PGlite folder, one process: real gateways and `npm run migrate` competing for a folder. */
let root: string;
let folder: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'chat-gateway-pglite-'));
});

afterEach(async () => {
  await killGateways();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const lockOwner = () => JSON.parse(readFileSync(join(folder, LOCK_FILE), 'utf8')) as { pid: number; host: string };

/** `npm run migrate` on the folder: its exit code and what it printed. */
async function migrate(): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', 'migrate', '--silent'], {
      cwd: REPOSITORY,
      env: { ...process.env, DATABASE_URL: folder, LOG_LEVEL: 'warn' },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('a PGlite folder a server has open', () => {
  it('refuses a second server and `npm run migrate`, naming the owner; free again once it stops', async () => {
    folder = join(root, 'shared');
    const owner = await spawnGateway({ DATABASE_URL: folder });
    await owner.ready();
    expect(lockOwner()).toMatchObject({ pid: owner.pid, host: hostname() });

    const second = await spawnGateway({ DATABASE_URL: folder });
    expect(await second.exited()).toEqual({ code: 1, signal: null });
    const refusal = new RegExp(`PGlite folder .* is in use by process ${owner.pid} on ${hostname()} \\(started \\d{4}-`);
    expect(second.logs()).toMatch(refusal);

    const migration = await migrate();
    expect(migration.code).toBe(1);
    expect(migration.output).toMatch(refusal);

    owner.signal('SIGTERM');
    expect(await owner.exited()).toEqual({ code: 0, signal: null });
    expect(existsSync(join(folder, LOCK_FILE))).toBe(false);
    expect(await migrate()).toEqual({ code: 0, output: expect.stringContaining('Database schema up to date') });
  });
});

describe('a PGlite folder whose server was killed (SIGKILL)', () => {
  it('is taken over by the next server, which says so', async () => {
    folder = join(root, 'killed');
    const killed = await spawnGateway({ DATABASE_URL: folder });
    await killed.ready();
    await killed.kill();
    expect(lockOwner().pid).toBe(killed.pid); // left behind

    const next = await spawnGateway({ DATABASE_URL: folder });
    await next.ready();
    expect(lockOwner().pid).toBe(next.pid);
    expect(next.logs()).toMatch(new RegExp(`"previousOwner":\\{"pid":${killed.pid}.*took over the lock of a process that is gone`));
  });
});

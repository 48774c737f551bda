import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataFolderInUseError, LOCK_FILE, lockDataFolder } from '../../src/db/folder-lock.ts';

// Locks written by "other processes" are files naming them; test/faults/pglite-lock.test.ts runs real ones.
let dir: string;
const lockFile = () => join(dir, LOCK_FILE);
const writeLock = (owner: { pid: number; host?: string }) =>
  writeFileSync(lockFile(), JSON.stringify({ host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'src/main.ts', ...owner }));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chat-gateway-lock-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('PGlite folder lock', () => {
  it('names this process in the lock file while held, and deletes it on release', async () => {
    const lock = await lockDataFolder(dir);
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(lockDataFolder(dir)).rejects.toThrow(/already open in this process/);
    lock.release();
    expect(existsSync(lockFile())).toBe(false);
    (await lockDataFolder(dir)).release();
  });

  it('refuses a folder a running process holds, naming it', async () => {
    writeLock({ pid: process.ppid });
    const attempt = lockDataFolder(dir);
    await expect(attempt).rejects.toThrow(DataFolderInUseError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`in use by process ${process.ppid} on ${hostname()} \\(started 2026-01-01T00:00:00.000Z: src/main.ts\\)`),
    );
  });

  it('refuses a folder held from another host, whose process cannot be checked', async () => {
    writeLock({ pid: 1, host: 'another-host' });
    await expect(lockDataFolder(dir)).rejects.toThrow(/in use by process 1 on another-host/);
  });

  it('takes over the lock of a process that is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeLock({ pid: gone });
    const lock = await lockDataFolder(dir);
    expect(lock.tookOverFrom).toMatchObject({ pid: gone });
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('takes over a lock naming its own pid: a previous process (a restarted container reuses pids)', async () => {
    writeLock({ pid: process.pid });
    const lock = await lockDataFolder(dir);
    expect(lock.tookOverFrom).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('leaves alone, on release, a lock another process has taken over meanwhile', async () => {
    const lock = await lockDataFolder(dir);
    writeLock({ pid: process.ppid });
    lock.release();
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.ppid });
  });
});

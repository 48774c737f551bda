import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * PGlite is PostgreSQL in this process: two processes opening one data folder each run their own
 * server on the same files, see different data and lose writes. The folder is therefore owned by
 * one process at a time, through a lock file in it naming the owner.
 */
export const LOCK_FILE = 'chat-gateway.lock';

export interface Owner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export class DataFolderInUseError extends Error {
  override name = 'DataFolderInUseError';
}

export interface FolderLock {
  /** The owner of a stale lock this process took over, for the log. */
  readonly tookOverFrom: Owner | undefined;
  /** Deletes the lock file (unless another process has taken it over meanwhile). */
  release(): void;
}

/** Folders this process holds: its own pid in a lock file means a previous process, unless listed here. */
const heldHere = new Set<string>();

/**
 * Takes `dir` for this process, or throws DataFolderInUseError naming the process that has it. A lock
 * whose process is gone (killed, crashed: its pid is not running on this host) is taken over.
 */
export async function lockDataFolder(dir: string): Promise<FolderLock> {
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(path)) throw new DataFolderInUseError(`PGlite folder ${dir} is already open in this process`);
  const me: Owner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  const content = JSON.stringify(me);
  // Written whole under a name of our own, then linked into place: link() fails if the lock exists,
  // and a reader never sees a half-written lock file.
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, content);
  try {
    let tookOverFrom: Owner | undefined;
    // A few rounds: a stale lock taken over may be taken by a process starting at the same time.
    for (let round = 0; round < 3; round++) {
      try {
        await link(draft, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const held = await readFile(path, 'utf8').catch(() => undefined);
        if (held === undefined) continue; // released meanwhile
        const owner = parseOwner(held);
        if (owner && isAlive(owner)) throw inUse(dir, path, owner);
        await removeIfUnchanged(path, held);
        tookOverFrom = owner;
        continue;
      }
      heldHere.add(path);
      // Deleted even when the process ends without closing the database (process.exit after a failed start).
      const releaseOnExit = () => unlinkIfOurs(path, content);
      process.once('exit', releaseOnExit);
      return {
        tookOverFrom,
        release: () => {
          process.removeListener('exit', releaseOnExit);
          heldHere.delete(path);
          unlinkIfOurs(path, content);
        },
      };
    }
    throw new DataFolderInUseError(`PGlite folder ${dir}: could not take ${path}, other processes keep taking it`);
  } finally {
    await unlink(draft).catch(() => {});
  }
}

function parseOwner(text: string): Owner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<Owner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? (owner as Owner) : undefined;
  } catch {
    return undefined; // not ours, or damaged: nobody can be shown to own it
  }
}

/**
 * Whether the owner may still be running. A process on another host (a shared volume) cannot be
 * checked: it counts as running. Our own pid is a previous process's (a restarted container gets the
 * same pids), since this process does not hold the folder.
 */
function isAlive(owner: Owner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // running, under another user
  }
}

function inUse(dir: string, path: string, owner: Owner): DataFolderInUseError {
  return new DataFolderInUseError(
    `PGlite folder ${dir} is in use by process ${owner.pid} on ${owner.host} (started ${owner.startedAt}: ${owner.command}). ` +
      'One process at a time: stop that one first, or use a PostgreSQL server for several processes. ' +
      `If that process is gone for certain, delete ${path}.`,
  );
}

/**
 * Removes a stale lock, unless another process has replaced it since it was read: it is moved aside
 * first (atomic), and put back if it turns out to be a new owner's.
 */
async function removeIfUnchanged(path: string, stale: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else moved or released it: the next round looks again
  }
  if ((await readFile(aside, 'utf8')) !== stale) await link(aside, path).catch(() => {});
  await unlink(aside);
}

function unlinkIfOurs(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // already gone
  }
}

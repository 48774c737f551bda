import { type ExecFileOptions, execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the test's own (initdb + pg_ctl on a free port and a temporary data folder), for
 * faults the shared server must never suffer: stopped, frozen, restarted. Trust auth, user `postgres`.
 */
export interface PrivatePostgres {
  readonly port: number;
  /** A connection URL for `database` (default `postgres`). */
  url(database?: string): string;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: sessions are terminated, as in a PostgreSQL restart or failover. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): void;
  /** SIGCONT: everything sent while frozen is processed now. */
  thaw(): void;
  /** Stops the server (whatever its state) and deletes its data folder. */
  dispose(): Promise<void>;
}

/** Creates and starts a private server; register `dispose` in an `afterAll`. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  const owner = serverUser();
  const root = mkdtempSync(join(tmpdir(), 'chat-gateway-pg-'));
  const dataDir = join(root, 'data');
  if (owner) chownSync(root, owner.uid, owner.gid);
  const port = await freePort();
  const asOwner: ExecFileOptions = { ...owner, cwd: root, env: { ...process.env, LC_ALL: 'C' } };
  const pgCtl = (...args: string[]) => run(join(bin, 'pg_ctl'), ['-D', dataDir, ...args], asOwner);

  let frozen = false;
  const postmasterPid = (): number | undefined => {
    const pidFile = join(dataDir, 'postmaster.pid');
    return existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
  };
  const signalAll = (signal: NodeJS.Signals) => {
    const postmaster = postmasterPid();
    if (postmaster === undefined) throw new Error('private PostgreSQL is not running');
    // The postmaster first on SIGSTOP (no new backends forked meanwhile), last on SIGCONT.
    const pids = [postmaster, ...childrenOf(postmaster)];
    for (const pid of signal === 'SIGCONT' ? pids.reverse() : pids) process.kill(pid, signal);
  };
  // Even if the test process dies before `dispose`, no server is left running.
  const killOnExit = () => {
    const postmaster = postmasterPid();
    if (postmaster !== undefined) {
      for (const pid of [postmaster, ...childrenOf(postmaster)]) signalQuietly(pid, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  await run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], asOwner);
  const server: PrivatePostgres = {
    port,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    start: async () => {
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${root} -c fsync=off -c max_prepared_transactions=4`;
      await pgCtl('start', '-w', '-l', join(root, 'server.log'), '-o', options);
    },
    stop: async () => {
      if (frozen) server.thaw();
      await pgCtl('stop', '-w', '-m', 'fast');
    },
    restart: async () => {
      await server.stop();
      await server.start();
    },
    freeze: () => {
      signalAll('SIGSTOP');
      frozen = true;
    },
    thaw: () => {
      signalAll('SIGCONT');
      frozen = false;
    },
    dispose: async () => {
      process.removeListener('exit', killOnExit);
      if (frozen) server.thaw();
      if (postmasterPid() !== undefined) await pgCtl('stop', '-w', '-m', 'immediate').catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** The newest installed PostgreSQL's programs (Debian's layout), or whatever `PATH` has. */
function postgresBinaries(): string {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  const newest = versions.filter((version) => /^\d+$/.test(version)).sort((a, b) => Number(b) - Number(a))[0];
  return newest ? `/usr/lib/postgresql/${newest}/bin` : '';
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` system user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('Running as root, and there is no `postgres` user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Direct children of `pid`, from /proc (the backends of a postmaster). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may contain spaces).
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

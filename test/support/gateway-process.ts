import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

export const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/**
 * How the gateway is started: `tsx` runs the sources in one node process; `npm` is `npm start`, as
 * the README documents it; `dist` is the production build (`node dist/main.js`; run `npm run build` first).
 */
export type Launcher = 'tsx' | 'npm' | 'dist';

const COMMANDS: Record<Launcher, [string, string[]]> = {
  tsx: [process.execPath, ['--import', 'tsx', 'src/main.ts']],
  npm: ['npm', ['start', '--silent']],
  dist: [process.execPath, ['dist/main.js']],
};

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The gateway as a real process of its own, for faults an in-process app cannot show: crashes, signals, locks. */
export interface GatewayProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The pid the launcher's command got: what a process manager signals. */
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  logs(): string;
  /** Resolves once `/healthz` answers 200; rejects (with the logs) if the process exits first. */
  ready(): Promise<void>;
  /** Resolves once the output matches `pattern` (e.g. the "listening" line, before any query). */
  printed(pattern: RegExp): Promise<void>;
  /** Resolves when the process has exited and all its output is read (at once if so). */
  exited(): Promise<Exit>;
  /** Sends `signal` to the pid only, as a process manager does (not to its process group). */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` to the whole process group, as a terminal does on Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void;
  /** SIGKILL to the whole process group (npm's children too), then waits for the exit. */
  kill(): Promise<Exit>;
}

const running = new Set<GatewayProcess>();

/**
 * Spawns the gateway on a free port with `env` on top of this process's environment (LOG_LEVEL info
 * unless given). PORT=0 cannot be used: the child does not report the port it bound.
 */
export async function spawnGateway(env: Record<string, string>, launcher: Launcher = 'tsx'): Promise<GatewayProcess> {
  const port = await freePort();
  const [command, args] = COMMANDS[launcher];
  const child = spawn(command, args, {
    cwd: REPOSITORY,
    env: { ...process.env, LOG_LEVEL: 'info', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so that `kill` also reaches npm's children.
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close' comes after 'exit', once the output pipes are drained: the last log lines are in.
  const exit = once(child, 'close').then(([code, signal]) => ({ code, signal }) as Exit);
  const url = `http://127.0.0.1:${port}`;
  const gateway: GatewayProcess = {
    url,
    pid: child.pid!,
    logs: () => output,
    ready: () => waitForHealthy(url, child, exit, () => output),
    printed: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output)) return;
          child.stdout!.off('data', check);
          resolve();
        };
        child.stdout!.on('data', check);
        check();
        void exit.then((status) =>
          reject(new Error(`The gateway exited (${JSON.stringify(status)}) before printing ${pattern}:\n${output}`)),
        );
      }),
    exited: () => exit,
    signal: (signal) => child.kill(signal),
    signalGroup: (signal) => signalProcessGroup(child, signal),
    kill: async () => {
      signalProcessGroup(child, 'SIGKILL');
      return exit;
    },
  };
  running.add(gateway);
  void once(child, 'exit').then(() => {
    // npm's children may outlive npm (and hold the output pipes open): the group goes too.
    signalProcessGroup(child, 'SIGKILL');
    running.delete(gateway);
  });
  return gateway;
}

/** POSTs a JSON create (`/chats/create`, `/conversations/create`) to `gateway`; the new row (201). */
export async function create(gateway: GatewayProcess, path: string, body: unknown): Promise<{ id: string }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { id: string };
}

/** Kills every gateway still running (an `afterEach`/`afterAll` of fault tests). */
export async function killGateways(): Promise<void> {
  await Promise.all([...running].map((gateway) => gateway.kill()));
}

// Even if the test process dies first, no gateway is left behind.
process.once('exit', () => {
  for (const gateway of running) gateway.kill().catch(() => {});
});

async function waitForHealthy(url: string, child: ChildProcess, exit: Promise<Exit>, logs: () => string): Promise<void> {
  let exited: Exit | undefined;
  void exit.then((value) => (exited = value));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`The gateway exited (${JSON.stringify(exited)}) before it was ready:\n${logs()}`);
    const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalProcessGroup(child, 'SIGKILL');
  throw new Error(`The gateway was not ready within 60 s:\n${logs()}`);
}

function signalProcessGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is gone
  }
}

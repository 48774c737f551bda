/**
 * Request/response over a child process's IPC channel: the orchestrator drives its helper processes
 * (gateway probe, TGI stand-in, stream load generator) with `{ rpc, op, ...args }` messages.
 */
import type { ChildProcess } from 'node:child_process';

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

/** In a child: answers each request with its handler's result (or error). */
export function serveRpc(handlers: Handlers, options: { keepAlive: boolean }): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('serveRpc needs an IPC channel (spawn with stdio "ipc")');
  process.on('message', (message: { rpc?: number; op?: string } & Record<string, unknown>) => {
    if (typeof message?.rpc !== 'number' || typeof message.op !== 'string') return;
    const handler = handlers[message.op];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${message.op}`);
        return handler(message);
      })
      .then(
        (result) => send({ rpc: message.rpc, result }),
        (error: unknown) => send({ rpc: message.rpc, error: error instanceof Error ? error.stack : String(error) }),
      );
  });
  // A probe inside the gateway must not keep it alive after its own shutdown.
  if (!options.keepAlive) process.channel?.unref();
}

/** In the parent: calls `op` in the child and resolves with its result. */
export function rpcClient(child: ChildProcess) {
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { rpc?: number; result?: unknown; error?: string }) => {
    const waiter = typeof message?.rpc === 'number' ? pending.get(message.rpc) : undefined;
    if (!waiter) return;
    pending.delete(message.rpc!);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`child exited (${code ?? signal}) during a call`));
    pending.clear();
  });
  return <T>(op: string, args: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const rpc = next++;
      pending.set(rpc, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...args, rpc, op });
    });
}

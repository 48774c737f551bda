import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

/**
 * A loopback port free right now, for servers that cannot report the port they bound (a child
 * process, PostgreSQL). Another process could take it before it is used: acceptable in tests.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

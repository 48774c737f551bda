import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ServerConfig } from '../config.ts';
import { writingDirectBodies } from './direct-body.ts';

export type ListenOptions = Pick<ServerConfig, 'host' | 'port' | 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'>;

/**
 * Serves `fetch` over HTTP with bounded request reading: the headers within `headersTimeoutMs` and
 * the whole request within `requestTimeoutMs`, else Node answers 408 and closes the connection (its
 * defaults, 60 s and 300 s, let a client that sends a body slowly hold a socket for minutes). Both
 * bound receiving the request only: a response, such as an event stream, lasts as long as it needs.
 */
export function startServer(
  fetch: (request: Request, env: object) => Response | Promise<Response>,
  options: ListenOptions,
  onListening?: (address: AddressInfo) => void,
): Server {
  const server = serve(
    {
      fetch: writingDirectBodies(fetch),
      hostname: options.host,
      port: options.port,
      serverOptions: {
        requestTimeout: options.requestTimeoutMs,
        headersTimeout: options.headersTimeoutMs,
        // How often Node looks for requests past those timeouts (30 s by default, which would stretch them).
        connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs),
      },
    },
    onListening,
  ) as Server;
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  return server;
}

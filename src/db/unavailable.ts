import { AppError } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';

/** What clients are told to wait before retrying: the pool reconnects on the next request after that. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * Prisma codes for a server that cannot be reached or did not answer in time: can't reach (P1001),
 * timed out reaching it (P1002), operations timed out (P1008), connection closed (P1017), timed out
 * waiting for a connection (P2024), too many connections (P2037).
 */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);

/** Driver adapter error kinds (@prisma/driver-adapter-utils) of the same meaning. */
const ADAPTER_UNAVAILABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * PostgreSQL error codes of the same meaning: a statement cancelled by `statement_timeout` (57014: the
 * gateway never cancels one otherwise), the server shutting down or restarting (57P01–57P03), too many
 * connections (53300), and the connection exception class (08…).
 */
const POSTGRES_UNAVAILABLE = /^(57014|57P0[123]|53300|08...)$/;

/**
 * node-postgres reports its own timeouts and lost connections as plain Errors told apart only by
 * their message (pool checkout and connect timeouts, DATABASE_QUERY_TIMEOUT_MS, a broken socket);
 * Prisma passes them through as they are.
 */
const PG_UNAVAILABLE = [
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Query read timeout',
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
];
const SOCKET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * True when `error` (or what caused it) means the database did not answer, as opposed to a query it
 * refused: one classification for every face (REST, GraphQL, /healthz). A timed-out transaction start
 * (P2028 "Unable to start a transaction in the given time") counts, as it only happens when every
 * connection is stuck.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof Prisma.PrismaClientInitializationError) return true;
    if (current instanceof Prisma.PrismaClientKnownRequestError) {
      if (PRISMA_UNAVAILABLE.has(current.code)) return true;
      if (current.code === 'P2028' && current.message.includes('Unable to start a transaction')) return true;
      if (isAdapterErrorUnavailable(current.meta?.driverAdapterError)) return true;
    }
    if (isAdapterErrorUnavailable(current)) return true;
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && SOCKET_UNAVAILABLE.has(code)) return true;
    if (PG_UNAVAILABLE.includes(current.message)) return true;
  }
  return false;
}

/** A DriverAdapterError, thrown as it is or kept by Prisma in `meta.driverAdapterError`. */
function isAdapterErrorUnavailable(error: unknown): boolean {
  const { name, cause } = (error ?? {}) as { name?: unknown; cause?: { kind?: string; code?: string } };
  if (name !== 'DriverAdapterError' || !cause?.kind) return false;
  return ADAPTER_UNAVAILABLE.has(cause.kind) || (cause.kind === 'postgres' && POSTGRES_UNAVAILABLE.test(cause.code ?? ''));
}

/** The 503 a request gets while the database is down, frozen or unreachable. */
export function databaseUnavailable(cause?: unknown, detail = 'The database is not available right now; retry shortly'): AppError {
  return new AppError('DATABASE_UNAVAILABLE', detail, {
    cause,
    headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
  });
}

import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';

/** A DriverAdapterError as @prisma/adapter-pg throws it, and as Prisma keeps it in `meta`. */
function adapterError(cause: Record<string, unknown>): Error {
  return Object.assign(new Error('driver adapter error'), { name: 'DriverAdapterError', cause });
}

function prismaError(code: string, driverAdapterError?: Error, message = 'Invalid invocation') {
  return new Prisma.PrismaClientKnownRequestError(message, {
    code,
    clientVersion: Prisma.prismaVersion.client,
    meta: driverAdapterError && { driverAdapterError },
  });
}

// The errors below are those seen from a PostgreSQL server stopped, frozen and lock-blocked (test/faults).
describe('isDatabaseUnavailable', () => {
  it.each([
    ['server stopped', prismaError('P1001', adapterError({ kind: 'DatabaseNotReachable', host: 'db', port: 5432 }))],
    ['statement timeout', prismaError('P2039', adapterError({ kind: 'postgres', code: '57014' }))],
    ['session terminated by a shutdown', prismaError('P2039', adapterError({ kind: 'postgres', code: '57P01' }))],
    ['raw query on a server that is down', prismaError('P2010', adapterError({ kind: 'DatabaseNotReachable' }))],
    ['pool checkout timeout', new Error('timeout exceeded when trying to connect')],
    ['connect timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') })],
    ['query timeout', new Error('Query read timeout')],
    ['lost connection', new Error('Connection terminated unexpectedly')],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'transaction never started',
      prismaError('P2028', undefined, 'Transaction API error: Unable to start a transaction in the given time.'),
    ],
  ])('%s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['unique violation', prismaError('P2002', adapterError({ kind: 'UniqueConstraintViolation' }))],
    ['record missing', prismaError('P2025')],
    ['a syntax error in raw SQL', prismaError('P2010', adapterError({ kind: 'postgres', code: '42601' }))],
    ['a transaction used after it closed', prismaError('P2028', undefined, 'Transaction API error: Transaction already closed')],
    ['any other error', new Error('boom')],
    ['not an error', 'Query read timeout'],
  ])('not: %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

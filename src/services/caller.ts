import { AppError } from '../errors.ts';

/**
 * Who is asking. Every read, write, stream and subscription is scoped to `owner`'s chats unless
 * `admin`; limits count against `limitKey`.
 */
export interface Caller {
  /** An API key's owner, a JWT's `sub`, or ANONYMOUS_OWNER when no credential was sent. */
  owner: string;
  admin: boolean;
  /** What rate limits and quotas count against: `owner:<owner>`, or `ip:<address>` for anonymous callers. */
  limitKey: string;
}

/** The owner of every chat made without a credential (and of the chats that existed before owners did). */
export const ANONYMOUS_OWNER = 'anonymous';

/** The owner the bootstrap ADMIN_API_KEY stands for. */
export const BOOTSTRAP_ADMIN_OWNER = 'admin';

/** Owners no API key or JWT may claim: each would reach chats that are not its own. */
export const RESERVED_OWNERS: readonly string[] = [ANONYMOUS_OWNER, BOOTSTRAP_ADMIN_OWNER];

export function anonymousCaller(address: string): Caller {
  return { owner: ANONYMOUS_OWNER, admin: false, limitKey: `ip:${address}` };
}

export function ownerCaller(owner: string, admin: boolean): Caller {
  return { owner, admin, limitKey: `owner:${owner}` };
}

/** Key management and other operator actions: admins only (403, since the action itself is no secret). */
export function requireAdmin(caller: Caller): void {
  if (!caller.admin) throw new AppError('FORBIDDEN', 'Only an admin credential may do this');
}

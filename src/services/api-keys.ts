import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { notFound } from '../errors.ts';
import type { ApiKey, PrismaClient } from '../generated/prisma/client.ts';
import { type Caller, ownerCaller } from './caller.ts';
import { isUuid, OwnerName, parseInput } from './inputs.ts';

/**
 * `cgk_<id>_<secret>`: the id (32 hex digits) finds the row, the secret (256 random bits) proves
 * possession. Only the secret's SHA-256 is stored: a leaked table gives no usable key, and a hash of 256
 * random bits needs no slow KDF.
 */
const KEY_PATTERN = /^cgk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export interface CreatedApiKey {
  /** The whole key: shown once, never stored. */
  key: string;
  record: ApiKey;
}

/** An API key's record without its hash: what may be shown to an admin. */
export type ApiKeyInfo = Omit<ApiKey, 'secretHash'>;

export class ApiKeyStore {
  /** Verified keys by id: a request does not pay a database read; revoking here forgets at once. */
  private readonly verified: LRUCache<string, ApiKey> | null;

  constructor(
    private readonly prisma: PrismaClient,
    cacheTtlMs: number,
  ) {
    this.verified = cacheTtlMs > 0 ? new LRUCache({ max: 10_000, ttl: cacheTtlMs }) : null;
  }

  async create(input: { owner: unknown; admin: boolean }): Promise<CreatedApiKey> {
    const owner = parseInput(OwnerName, input.owner);
    const admin = input.admin;
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const record = await this.prisma.apiKey.create({ data: { id, owner, admin, secretHash: sha256(secret) } });
    return { key: `cgk_${id.replaceAll('-', '')}_${secret}`, record };
  }

  list(owner?: string): Promise<ApiKeyInfo[]> {
    return this.prisma.apiKey.findMany({
      where: owner === undefined ? {} : { owner },
      omit: { secretHash: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** Revokes a key (again is fine: the first revocation time is kept). */
  async revoke(id: string): Promise<ApiKeyInfo> {
    const existing = isUuid(id) ? await this.prisma.apiKey.findUnique({ where: { id }, omit: { secretHash: true } }) : null;
    if (!existing) throw notFound('API key', id);
    const revoked = existing.revokedAt
      ? existing
      : await this.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() }, omit: { secretHash: true } });
    // After the update: a verification running meanwhile may have cached the row as it was.
    this.verified?.delete(id);
    return revoked;
  }

  /** The caller a key stands for; null when it is not a live key of ours. */
  async verify(key: string): Promise<Caller | null> {
    const match = KEY_PATTERN.exec(key);
    if (!match) return null;
    const id = formatUuid(match[1]!);
    const cached = this.verified?.get(id);
    const record = cached ?? (await this.prisma.apiKey.findUnique({ where: { id } }));
    if (!record || record.revokedAt || !sameDigest(record.secretHash, sha256(match[2]!))) return null;
    // Cached from the database read only: a hit must not extend its life, or a key revoked on another
    // instance would live on here for as long as it is used.
    if (!cached) this.verified?.set(id, record);
    return ownerCaller(record.owner, record.admin);
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time comparison of two hex digests of the same algorithm. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

function formatUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { AuthConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type ApiKeyStore, sameDigest, sha256 } from '../services/api-keys.ts';
import { anonymousCaller, BOOTSTRAP_ADMIN_OWNER, type Caller, ownerCaller, RESERVED_OWNERS } from '../services/caller.ts';

/** Turns a request's credential (or its absence) into the caller, or refuses it with 401. */
export interface Authenticator {
  authenticate(credential: string | undefined, address: string): Promise<Caller>;
}

export function createAuthenticator(config: AuthConfig, keys: ApiKeyStore, logger: Logger): Authenticator {
  const adminKeyHash = config.adminApiKey === undefined ? undefined : sha256(config.adminApiKey);
  const jwt = config.jwt;
  const jwks = jwt ? createRemoteJWKSet(jwt.jwksUrl) : undefined;

  async function verifyJwt(token: string): Promise<Caller | null> {
    if (!jwt || !jwks) return null;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: jwt.issuer, audience: jwt.audience });
      // "anonymous" is the shared owner of every chat made without credentials, "admin" the bootstrap key's.
      if (!payload.sub || RESERVED_OWNERS.includes(payload.sub)) return null;
      return ownerCaller(payload.sub, false);
    } catch (error) {
      // The identity provider being unreachable is ours to fix, not the client's: say so in the log.
      if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout) {
        logger.warn({ err: error }, 'JWT verification could not complete');
      }
      return null;
    }
  }

  async function verify(credential: string): Promise<Caller | null> {
    if (adminKeyHash && sameDigest(adminKeyHash, sha256(credential))) return ownerCaller(BOOTSTRAP_ADMIN_OWNER, true);
    if (credential.startsWith('cgk_')) return keys.verify(credential);
    // A compact JWS: three base64url parts.
    if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential)) return verifyJwt(credential);
    return null;
  }

  return {
    async authenticate(credential, address) {
      if (credential === undefined) {
        if (config.required) throw unauthenticated('This gateway needs a credential: send Authorization: Bearer <API key or JWT>');
        return anonymousCaller(address);
      }
      const caller = await verify(credential);
      if (!caller) throw unauthenticated('The credential is not valid (unknown, revoked, expired or malformed)');
      return caller;
    },
  };
}

export function unauthenticated(message: string): AppError {
  return new AppError('UNAUTHENTICATED', message, { headers: { 'www-authenticate': 'Bearer realm="chat-gateway"' } });
}

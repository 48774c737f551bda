import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { bearer, createTestApp, jsonInit, postGraphQL, type TestApp } from '../support/app.ts';

const ADMIN_KEY = 'admin-key-for-tests-0123456789abcdef';
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'chat-gateway';

/** A local OpenID provider's key set, served over a real socket as JWT_JWKS_URL. */
let jwks: { url: string; server: Server; sign(claims: Record<string, unknown>, options?: { key?: 'other' }): Promise<string> };
let app: TestApp;

beforeAll(async () => {
  const signing = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwks = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    server,
    sign: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime((claims.exp as number | undefined) ?? '5m')
        .sign(options.key === 'other' ? other.privateKey : signing.privateKey),
  };
  app = await createTestApp({
    AUTH: 'required',
    ADMIN_API_KEY: ADMIN_KEY,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_URL: jwks.url,
  });
});

afterAll(async () => {
  await app.close();
  jwks.server.close();
});

const createKey = async (owner: string, admin = false) => {
  const result = await postGraphQL(
    app,
    'mutation($owner: String!, $admin: Boolean!) { createApiKey(owner: $owner, admin: $admin) { key id owner admin } }',
    { owner, admin },
    bearer(ADMIN_KEY),
  );
  expect(result.errors).toBeUndefined();
  return result.data!.createApiKey as { key: string; id: string; owner: string; admin: boolean };
};

describe('AUTH=required', () => {
  it('answers 401 UNAUTHENTICATED with a JSON body and WWW-Authenticate when no credential is sent', async () => {
    for (const path of ['/chats/', '/chats/create', '/conversations/inference/3fa85f64-5717-4562-b3fc-2c963f66afa6']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="chat-gateway"');
      expect(await response.json()).toEqual({ detail: expect.stringContaining('credential'), code: 'UNAUTHENTICATED' });
    }
    const graphql = await postGraphQL(app, '{ viewer { owner } }');
    expect(graphql.status).toBe(401);
    expect(graphql.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps /healthz open', async () => {
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('serves GraphiQL, /docs and the API description without a credential: a browser cannot send one to load a page', async () => {
    expect((await app.request('/graphql', { headers: { accept: 'text/html' } })).status).toBe(200);
    expect((await app.request('/docs')).status).toBe(200);
    expect((await app.request('/openapi.json')).status).toBe(200);
    // The page is public, the API behind it is not.
    expect((await app.request('/graphql?query=%7B__typename%7D', { headers: { accept: 'application/json' } })).status).toBe(401);
  });

  it.each([
    ['an unknown API key', `Bearer cgk_${'0'.repeat(32)}_${'A'.repeat(43)}`],
    ['a random string', 'Bearer not-a-key'],
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['an empty bearer', 'Bearer '],
    ['the admin key with a changed last character', `Bearer ${ADMIN_KEY.slice(0, -1)}x`],
  ])('refuses %s with 401', async (_what, authorization) => {
    const response = await app.request('/chats/', { headers: { authorization } });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('UNAUTHENTICATED');
  });

  it('lets the bootstrap admin create a key that works at once and is shown only once', async () => {
    const created = await createKey('alice');
    expect(created.key).toMatch(/^cgk_[0-9a-f]{32}_[\w-]{43}$/);
    expect(created).toMatchObject({ owner: 'alice', admin: false });
    const stored = await app.database.prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(stored)).not.toContain(created.key.slice(-43));

    const viewer = await postGraphQL(app, '{ viewer { owner admin anonymous } }', {}, bearer(created.key));
    expect(viewer.data).toEqual({ viewer: { owner: 'alice', admin: false, anonymous: false } });
    const listed = await postGraphQL(app, '{ apiKeys(owner: "alice") { id owner revokedAt } }', {}, bearer(ADMIN_KEY));
    expect(listed.data?.apiKeys).toContainEqual({ id: created.id, owner: 'alice', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(created.key);
  });

  it('refuses key management to a non-admin with 403 FORBIDDEN', async () => {
    const { key } = await createKey('bob');
    for (const query of [
      'mutation { createApiKey(owner: "mallory", admin: true) { key } }',
      `mutation { revokeApiKey(id: "${crypto.randomUUID()}") { id } }`,
      '{ apiKeys { id } }',
    ]) {
      const result = await postGraphQL(app, query, {}, bearer(key));
      expect(result.status).toBe(403);
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await app.database.prisma.apiKey.count({ where: { owner: 'mallory' } })).toBe(0);
  });

  it('refuses an owner name that is empty, reserved or holds control characters', async () => {
    for (const owner of ['', 'anonymous', 'admin', 'a\u0000b', 'x'.repeat(201)]) {
      const result = await postGraphQL(app, 'mutation($o: String!) { createApiKey(owner: $o) { key } }', { o: owner }, bearer(ADMIN_KEY));
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(owner)).toBe('VALIDATION_FAILED');
    }
  });

  it('refuses a revoked key at once', async () => {
    const { key, id } = await createKey('carol');
    expect((await app.request('/chats/', { headers: bearer(key) })).status).toBe(200);
    const revoked = await postGraphQL(app, 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', { id }, bearer(ADMIN_KEY));
    expect(revoked.data?.revokeApiKey.revokedAt).toEqual(expect.any(String));
    expect((await app.request('/chats/', { headers: bearer(key) })).status).toBe(401);
    const unknown = await postGraphQL(app, `mutation { revokeApiKey(id: "${crypto.randomUUID()}") { id } }`, {}, bearer(ADMIN_KEY));
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('takes ?access_token= on the two SSE routes only', async () => {
    const { key } = await createKey('dave');
    const missing = crypto.randomUUID();
    // Past authentication: the id is unknown to dave, so 404 (or 503 without a model), not 401.
    for (const path of [`/conversations/inference/${missing}`, `/conversations/inference_internet/${missing}`]) {
      const response = await app.request(`${path}?access_token=${key}`);
      expect(response.status, path).not.toBe(401);
    }
    expect((await app.request(`/chats/?access_token=${key}`)).status).toBe(401);
    const query = encodeURIComponent('{ viewer { owner } }');
    expect((await app.request(`/graphql?query=${query}&access_token=${key}`)).status).toBe(401);
  });

  describe('JWTs from the OpenID Connect provider', () => {
    it('accepts a valid token; its subject is the owner', async () => {
      const token = await jwks.sign({ sub: 'user-42' });
      const viewer = await postGraphQL(app, '{ viewer { owner admin } }', {}, bearer(token));
      expect(viewer.data).toEqual({ viewer: { owner: 'user-42', admin: false } });
      const created = await app.request('/chats/create', {
        ...jsonInit('POST', { name: 'mine' }),
        headers: { ...bearer(token), 'content-type': 'application/json' },
      });
      expect(created.status).toBe(201);
      const chat = await app.database.prisma.chat.findUniqueOrThrow({ where: { id: (await created.json()).id } });
      expect(chat.ownerId).toBe('user-42');
    });

    it.each([
      ['signed by another key', () => jwks.sign({ sub: 'u' }, { key: 'other' })],
      ['for another audience', () => new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32))],
      ['without a subject', () => jwks.sign({})],
      ['for the reserved anonymous owner', () => jwks.sign({ sub: 'anonymous' })],
      ['for the reserved owner of the bootstrap admin key', () => jwks.sign({ sub: 'admin' })],
      ['expired', () => jwks.sign({ sub: 'u', exp: Math.floor(Date.now() / 1000) - 60 })],
    ])('refuses a token %s with 401', async (_what, token) => {
      const response = await app.request('/chats/', { headers: bearer(await token()) });
      expect(response.status).toBe(401);
    });
  });
});

describe('credentials in logs', () => {
  it('never writes an access token or an Authorization header to the log', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const logged = await createTestApp({ AUTH: 'required', ADMIN_API_KEY: ADMIN_KEY }, { logger });
    try {
      const created = await postGraphQL(logged, 'mutation { createApiKey(owner: "frank") { key } }', {}, bearer(ADMIN_KEY));
      const key = created.data!.createApiKey.key as string;
      await logged.request(`/conversations/inference/${crypto.randomUUID()}?access_token=${key}`);
      await logged.request('/chats/', { headers: bearer(key) });
      await logged.request('/chats/', { headers: bearer(`${key}x`) });
      expect(lines.length).toBeGreaterThan(2);
      const log = lines.join('');
      expect(log).not.toContain(key.slice(4));
      expect(log).not.toContain(ADMIN_KEY);
    } finally {
      await logged.close();
    }
  });
});

describe('AUTH=none (the default)', () => {
  let open: TestApp;
  beforeAll(async () => {
    open = await createTestApp({ ADMIN_API_KEY: ADMIN_KEY });
  });
  afterAll(() => open.close());

  it('serves callers without a credential as the anonymous owner, and still honours a credential', async () => {
    const anonymous = await postGraphQL(open, '{ viewer { owner anonymous } }');
    expect(anonymous.data).toEqual({ viewer: { owner: 'anonymous', anonymous: true } });
    const created = await postGraphQL(open, 'mutation { createApiKey(owner: "erin") { key } }', {}, bearer(ADMIN_KEY));
    const key = created.data!.createApiKey.key as string;
    const named = await postGraphQL(open, '{ viewer { owner anonymous } }', {}, bearer(key));
    expect(named.data).toEqual({ viewer: { owner: 'erin', anonymous: false } });
    // A credential that is sent is checked, even where none is needed.
    expect((await open.request('/chats/', { headers: bearer('wrong') })).status).toBe(401);
  });
});

describe('configuration', () => {
  it('refuses AUTH=none on a non-loopback HOST unless ALLOW_ANONYMOUS=true', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/AUTH/);
    expect(loadConfig({ HOST: '0.0.0.0', ALLOW_ANONYMOUS: 'true' }).auth.required).toBe(false);
    expect(loadConfig({ HOST: '0.0.0.0', AUTH: 'required' }).auth.required).toBe(true);
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(() => loadConfig({ HOST: host })).not.toThrow();
  });

  it('wants the three JWT settings together, and the key set over https unless on loopback', () => {
    expect(() => loadConfig({ JWT_ISSUER: ISSUER })).toThrow(/JWT_JWKS_URL/);
    const jwt = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
    expect(() => loadConfig({ ...jwt, JWT_JWKS_URL: 'http://idp.example.com/jwks' })).toThrow(/https/);
    expect(loadConfig({ ...jwt, JWT_JWKS_URL: 'https://idp.example.com/jwks' }).auth.jwt?.jwksUrl.host).toBe('idp.example.com');
  });

  it('refuses a short ADMIN_API_KEY', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit, type TestApp } from '../support/app.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

const ALLOWED = 'https://app.example';
const DENIED = 'https://evil.example';

let tgi: TgiStandin;
let app: TestApp;
let questionId: string;
beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0, defaultBehaviour: { kind: 'tokens', tokens: ['Hi', '!'] } });
  app = await createTestApp({ CORS_ORIGINS: `http://localhost:5173, ${ALLOWED}`, TGI_URL: tgi.url });
  const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'security' }))).json();
  const asked = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hello?' }));
  questionId = (await asked.json()).id;
});
afterAll(async () => {
  await app.close();
  await tgi.close();
});

/** One request per face, as a browser page would send it cross-origin. */
const ROUTES: { name: string; path: () => string; init: RequestInit; preflight: { method: string; headers: string } }[] = [
  { name: 'REST', path: () => '/chats/', init: {}, preflight: { method: 'POST', headers: 'content-type, authorization, x-request-id' } },
  {
    name: 'REST SSE',
    path: () => `/conversations/inference/${questionId}`,
    init: { headers: { accept: 'text/event-stream' } },
    preflight: { method: 'GET', headers: 'authorization, last-event-id' },
  },
  {
    name: '/graphql',
    path: () => '/graphql',
    init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) },
    preflight: { method: 'POST', headers: 'content-type, authorization' },
  },
  {
    name: '/graphql/stream',
    path: () => '/graphql/stream',
    init: { method: 'PUT' },
    preflight: { method: 'PUT', headers: 'x-graphql-event-stream-token, authorization' },
  },
];

async function fromOrigin(origin: string, path: string, init: RequestInit) {
  const response = await app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), origin } });
  await response.body?.cancel();
  return response;
}

describe('CORS', () => {
  describe.each(ROUTES)('on $name', ({ path, init, preflight }) => {
    it('lets a listed origin read the answer, without credentials', async () => {
      const response = await fromOrigin(ALLOWED, path(), init);
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
      expect(response.headers.get('vary')).toMatch(/Origin/);
    });

    it('answers a request without Origin (no browser) with no CORS headers, but Vary: Origin for caches', async () => {
      const response = await app.request(path(), init);
      expect(response.status).toBeLessThan(300);
      expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
      expect(response.headers.get('vary')).toMatch(/Origin/);
    });

    it('does not let any other origin read it', async () => {
      const response = await fromOrigin(DENIED, path(), init);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('answers the preflight of a listed origin with the methods and headers our clients use', async () => {
      const response = await app.request(path(), {
        method: 'OPTIONS',
        headers: {
          origin: ALLOWED,
          'access-control-request-method': preflight.method,
          'access-control-request-headers': preflight.headers,
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(response.headers.get('access-control-allow-methods')?.split(',')).toContain(preflight.method);
      const allowed = response.headers.get('access-control-allow-headers')!.toLowerCase().split(',');
      for (const header of preflight.headers.split(', ')) expect(allowed).toContain(header);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('answers the preflight of any other origin without allowing it', async () => {
      const response = await app.request(path(), {
        method: 'OPTIONS',
        headers: { origin: DENIED, 'access-control-request-method': preflight.method, 'access-control-request-headers': preflight.headers },
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  it('allows no origin by default', async () => {
    const closed = await createTestApp();
    try {
      const response = await closed.request('/graphql', {
        ...ROUTES[2]!.init,
        headers: { 'content-type': 'application/json', origin: ALLOWED },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await closed.close();
    }
  });
});

describe('cross-site request forgery on GraphQL', () => {
  const mutation = 'mutation { createChat(name: "forged") { id } }';
  const multipart = new FormData();
  multipart.set('query', mutation);

  // The bodies a page of another site can send with no preflight: a form, text/plain, no type at all.
  it.each([
    [
      '/graphql',
      'application/x-www-form-urlencoded',
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: mutation }) },
    ],
    ['/graphql', 'multipart/form-data', { body: multipart }],
    ['/graphql', 'text/plain', { headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: mutation }) }],
    ['/graphql', 'no Content-Type', { body: new Blob([JSON.stringify({ query: mutation })]) }],
    ['/graphql/stream', 'text/plain', { headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: mutation }) }],
  ] as [string, string, RequestInit][])(
    'refuses a mutation POSTed to %s as %s with a JSON 415, storing nothing',
    async (path, _type, init) => {
      const response = await app.request(path, {
        method: 'POST',
        ...init,
        headers: { ...(init.headers as Record<string, string>), origin: DENIED },
      });
      expect(response.status).toBe(415);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({
        errors: [{ message: 'Content-Type must be application/json', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }],
      });
      expect(await app.database.prisma.chat.count({ where: { name: 'forged' } })).toBe(0);
    },
  );

  it('refuses a mutation sent with GET', async () => {
    const response = await app.request(`/graphql?query=${encodeURIComponent(mutation)}`);
    expect(response.status).toBe(405);
    expect(await app.database.prisma.chat.count({ where: { name: 'forged' } })).toBe(0);
  });
});

describe("GraphQL's other refusals", () => {
  it.each([
    ['a body type Yoga cannot read', { 'content-type': 'application/vnd.example+json' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an Accept it cannot answer', { 'content-type': 'application/json', accept: 'text/xml' }, 406, 'NOT_ACCEPTABLE'],
  ])('answers %s with a JSON error and a code', async (_case, headers, status, code) => {
    const response = await app.request('/graphql', { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code } }] });
  });
});

describe('security headers', () => {
  const expectCommonHeaders = (response: Response) => {
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  };

  it.each([
    ['GET /healthz', '/healthz', {}],
    ['GET /chats/', '/chats/', {}],
    ['a REST error', '/chats/create', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }],
    ['an unknown route', '/nowhere', {}],
    ['POST /graphql', '/graphql', ROUTES[2]!.init],
    ['a GraphQL refusal', '/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }],
    ['the OpenAPI description', '/openapi.json', {}],
  ] as [string, string, RequestInit][])('on %s: nothing may be run, framed or loaded from an API answer', async (_case, path, init) => {
    const response = await app.request(path, init);
    expectCommonHeaders(response);
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none';/);
  });

  it('on an event stream', async () => {
    const response = await app.request(`/conversations/inference/${questionId}`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await response.body?.cancel();
    expectCommonHeaders(response);
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none';/);
  });

  /** The CSP directives of a response, by name. */
  const policyOf = (response: Response) =>
    new Map(
      response.headers
        .get('content-security-policy')!
        .split(/;\s*/)
        .map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]),
    );

  it.each([
    ['GraphiQL', '/graphql'],
    ['Swagger UI', '/docs'],
  ])('lets the %s page run its own scripts and styles only, from this gateway', async (_page, path) => {
    const response = await app.request(path, { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expectCommonHeaders(response);
    const policy = policyOf(response);
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    // No other host anywhere in the policy, and no inline script for it to allow.
    expect([...policy.values()].flat().filter((source) => /^https?:/.test(source))).toEqual([]);
    expect(await response.text()).not.toMatch(/<script>/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, listen, TEST_BODY_LIMIT, type TestApp } from './support/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

describe('service endpoints', () => {
  it('GET /healthz is 200 once migrations are applied', async () => {
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /healthz is 503 while a shipped migration is not applied', async () => {
    await app.database.prisma.$executeRawUnsafe('UPDATE "_prisma_migrations" SET rolled_back_at = now()');
    try {
      const response = await app.request('/healthz');
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', detail: expect.stringMatching(/Migrations not applied/) });
    } finally {
      await app.database.prisma.$executeRawUnsafe('UPDATE "_prisma_migrations" SET rolled_back_at = NULL');
    }
  });

  it('serves an OpenAPI 3.1 description of every legacy route', async () => {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual([
      '/chats/',
      '/chats/create',
      '/chats/delete/{id}',
      '/chats/update/{id}',
      '/chats/{id}',
      '/chats/{id}/conversations',
      '/conversations/create',
      '/conversations/inference/{id}',
      '/conversations/inference_internet/{id}',
      '/conversations/stop/{id}',
      '/conversations/{id}',
    ]);
    expect(Object.keys(document.paths['/conversations/inference/{id}'].get.responses['200'].content)).toEqual(['text/event-stream']);
    expect(document.components.schemas.Chat.properties).toHaveProperty('created_at');
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
  });

  it('gives every operation a unique operationId and lists only the statuses it can answer, with their codes as enums', async () => {
    const document = await (await app.request('/openapi.json')).json();
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item as Record<string, any>));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);

    const statuses = (path: string, method: string) => Object.keys(document.paths[path][method].responses).sort();
    // Every route: 401 (credentials), 429 (limits), 503 (database).
    expect(statuses('/chats/create', 'post')).toEqual(['201', '400', '401', '413', '415', '422', '429', '503']);
    expect(statuses('/conversations/create', 'post')).toEqual(['201', '400', '401', '404', '413', '415', '422', '429', '503']);
    expect(statuses('/chats/{id}', 'get')).toEqual(['200', '401', '404', '429', '503']);
    expect(statuses('/chats/delete/{id}', 'delete')).toEqual(['200', '401', '404', '429', '503']);
    expect(statuses('/conversations/inference/{id}', 'get')).toEqual(['200', '204', '401', '404', '422', '429', '503']);
    expect(statuses('/conversations/stop/{id}', 'post')).toEqual(['200', '401', '404', '422', '429', '503']);
    expect(document.paths['/chats/create'].post.responses['201'].headers).toHaveProperty('Location');

    const schemas = document.components.schemas;
    const codeOf = (ref: string) => schemas[ref.split('/').at(-1)!].properties.code.enum;
    const errorRef = (path: string, method: string, status: string) =>
      document.paths[path][method].responses[status].content['application/json'].schema.$ref;
    expect(codeOf(errorRef('/chats/{id}', 'get', '404'))).toEqual(['NOT_FOUND']);
    expect(codeOf(errorRef('/chats/create', 'post', '422'))).toEqual(['VALIDATION_FAILED']);
    expect(codeOf(errorRef('/chats/create', 'post', '401'))).toEqual(['UNAUTHENTICATED']);
    expect(codeOf(errorRef('/conversations/inference/{id}', 'get', '503'))).toEqual(['SERVICE_UNAVAILABLE', 'DATABASE_UNAVAILABLE']);
    expect(codeOf(errorRef('/chats/{id}', 'get', '503'))).toEqual(['DATABASE_UNAVAILABLE']);
    expect(codeOf(errorRef('/chats/{id}', 'get', '429'))).toEqual(['RATE_LIMITED']);
  });

  it('describes Last-Event-ID on the streaming routes', async () => {
    const document = await (await app.request('/openapi.json')).json();
    for (const path of ['/conversations/inference/{id}', '/conversations/inference_internet/{id}']) {
      expect(document.paths[path].get.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'last-event-id' }));
    }
  });

  it.each([
    ['AUTH=none', {}, [{ apiKey: [] }, {}], ['apiKey', 'accessToken']],
    [
      'AUTH=required with OpenID Connect',
      {
        AUTH: 'required',
        JWT_ISSUER: 'https://id.example.test/',
        JWT_AUDIENCE: 'gateway',
        JWT_JWKS_URL: 'https://id.example.test/jwks.json',
      },
      [{ apiKey: [] }, { oidc: [] }],
      ['apiKey', 'oidc', 'accessToken'],
    ],
  ])('describes how %s takes credentials', async (_case, env, security, schemes) => {
    const configured = await createTestApp(env);
    try {
      const document = await (await configured.request('/openapi.json')).json();
      expect(Object.keys(document.components.securitySchemes)).toEqual(schemes);
      expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(document.components.securitySchemes.accessToken).toMatchObject({ type: 'apiKey', in: 'query', name: 'access_token' });
      if (schemes.includes('oidc')) {
        expect(document.components.securitySchemes.oidc).toEqual(
          expect.objectContaining({ type: 'openIdConnect', openIdConnectUrl: 'https://id.example.test/.well-known/openid-configuration' }),
        );
      }
      expect(document.security).toEqual(security);
      // ?access_token= is taken on the two streaming routes only.
      const anonymous = security.filter((requirement) => Object.keys(requirement).length === 0);
      const credentials = security.filter((requirement) => Object.keys(requirement).length > 0);
      expect(document.paths['/conversations/inference/{id}'].get.security).toEqual([...credentials, { accessToken: [] }, ...anonymous]);
      expect(document.paths['/chats/'].get.security).toBeUndefined();
    } finally {
      await configured.close();
    }
  });

  it('serves a browsable page of the REST API at /docs', async () => {
    const response = await app.request('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/swagger-ui/);
  });

  it('serves GraphiQL to browsers at /graphql', async () => {
    const response = await app.request('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/graphiql/i);
  });

  it('refuses a GraphQL body over the size limit with 413', async () => {
    const response = await app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }${' '.repeat(128 * 1024)}` }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  it.each([
    ['/chats/create', 'announced by Content-Length', false],
    ['/chats/create', 'sent chunked, with no size announced', true],
    ['/graphql', 'announced by Content-Length', false],
    ['/graphql', 'sent chunked, with no size announced', true],
  ])('refuses a body over the limit on %s over a real socket, %s', async (path, _case, chunked) => {
    const server = await listen(app);
    try {
      const body = JSON.stringify({ name: 'x'.repeat(TEST_BODY_LIMIT), query: '{ __typename }' });
      const init: RequestInit & { duplex?: 'half' } = chunked ? { body: new Blob([body]).stream(), duplex: 'half' } : { body };
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...init,
      });
      expect(response.status).toBe(413);
      // Each face shapes its errors: GraphQL's `errors[].extensions.code`, REST's `code`.
      const refusal = await response.json();
      expect(path === '/graphql' ? refusal.errors[0].extensions : refusal).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect(await app.database.prisma.chat.count({ where: { name: { startsWith: 'xxx' } } })).toBe(0);
    } finally {
      await server.close();
    }
  });
});

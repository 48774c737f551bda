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
    ]);
    expect(Object.keys(document.paths['/conversations/inference/{id}'].get.responses['200'].content)).toEqual(['text/event-stream']);
    expect(document.components.schemas.Chat.properties).toHaveProperty('created_at');
    expect(document.paths['/chats/create'].post.responses).toHaveProperty('422');
    expect(Object.keys(document.paths['/conversations/stop/{id}'].post.responses).sort()).toEqual(['200', '404', '422', '503']);
  });

  it('serves a browsable page of the REST API at /docs', async () => {
    const response = await app.request('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toContain('/openapi.json');
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
      const init: RequestInit & { duplex?: 'half' } = chunked
        ? { body: new Blob([body]).stream(), duplex: 'half' }
        : { body };
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...init,
      });
      expect(response.status).toBe(413);
      // Each face's own error shape: GraphQL clients read `errors`.
      const code = path === '/graphql' ? { errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] } : { code: 'PAYLOAD_TOO_LARGE' };
      expect(await response.json()).toMatchObject(code);
      expect(await app.database.prisma.chat.count({ where: { name: { startsWith: 'xxx' } } })).toBe(0);
    } finally {
      await server.close();
    }
  });
});

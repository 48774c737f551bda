import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ LIMIT_CONCURRENT_STREAMS: '1' });
});
afterAll(() => app.close());

const subscribe = (accept: string) =>
  app.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query: 'subscription { chatEvents { type } }' }),
  });

it('refuses a subscription to a client that cannot take a stream, before it starts: nothing is held', async () => {
  for (const accept of ['application/json', 'application/graphql-response+json', 'multipart/mixed']) {
    const response = await subscribe(accept);
    const body = await response.json();
    expect(body.errors?.[0]?.extensions?.code, accept).toBe('NOT_ACCEPTABLE');
  }
  // The one stream slot is still free: an event stream opens.
  const stream = await subscribe('text/event-stream');
  expect(stream.status).toBe(200);
  expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
  // Hang up once the stream runs (Yoga's SSE answer cannot be cancelled before its first read).
  const reader = stream.body!.getReader();
  await reader.read();
  await reader.cancel();
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit, TEST_BODY_LIMIT, type TestApp } from '../support/app.ts';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UNKNOWN_ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

async function json(path: string, init?: RequestInit) {
  const response = await app.request(path, init);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: response.status, body: await response.json() };
}

async function createChat(name = 'Chat 1') {
  const { status, body } = await json('/chats/create', jsonInit('POST', { name }));
  expect(status).toBe(201);
  return body as { id: string; name: string; created_at: string; updated_at: string };
}

async function storedCounts() {
  const { prisma } = app.database;
  return { chats: await prisma.chat.count(), conversations: await prisma.conversation.count() };
}

describe('chats', () => {
  it('POST /chats/create answers 201 with the new chat in the seed shape, and where it is', async () => {
    const response = await app.request('/chats/create', jsonInit('POST', { name: 'Chat 1' }));
    expect(response.status).toBe(201);
    const chat = await response.json();
    expect(Object.keys(chat).sort()).toEqual(['created_at', 'id', 'name', 'updated_at']);
    expect(chat.name).toBe('Chat 1');
    expect(chat.created_at).toMatch(ISO_MS);
    expect(chat.updated_at).toBe(chat.created_at);
    expect(response.headers.get('location')).toBe(`/chats/${chat.id}`);
    expect(await json(response.headers.get('location')!)).toEqual({ status: 200, body: chat });
  });

  it('GET /chats/ and /chats list all chats, most recently updated first', async () => {
    const older = await createChat('older');
    const newer = await createChat('newer');
    await json(`/chats/update/${older.id}`, jsonInit('PUT', { name: 'older', updated_at: '2000-01-01T00:00:00.000Z' }));
    for (const path of ['/chats/', '/chats']) {
      const { status, body } = await json(path);
      expect(status).toBe(200);
      const ids = (body as { id: string }[]).map((chat) => chat.id);
      expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
      expect(ids.at(-1)).toBe(older.id);
    }
  });

  it('GET /chats/<id> answers the chat', async () => {
    const chat = await createChat();
    expect(await json(`/chats/${chat.id}`)).toEqual({ status: 200, body: chat });
  });

  it('PUT /chats/update/<id> stores updated_at as given, or now', async () => {
    const chat = await createChat('before');
    const given = await json(`/chats/update/${chat.id}`, jsonInit('PUT', { name: 'after', updated_at: '2023-08-05T14:48:00.000Z' }));
    expect(given).toEqual({ status: 200, body: { ...chat, name: 'after', updated_at: '2023-08-05T14:48:00.000Z' } });

    // A naive time (no zone) is UTC, and an offset is converted to UTC.
    const naive = await json(`/chats/update/${chat.id}`, jsonInit('PUT', { name: 'after', updated_at: '2023-08-05T14:48:00' }));
    expect(naive.body.updated_at).toBe('2023-08-05T14:48:00.000Z');
    const offset = await json(`/chats/update/${chat.id}`, jsonInit('PUT', { name: 'after', updated_at: '2023-08-05T16:48:00+02:00' }));
    expect(offset.body.updated_at).toBe('2023-08-05T14:48:00.000Z');

    const before = Date.now();
    const now = await json(`/chats/update/${chat.id}`, jsonInit('PUT', { name: 'again' }));
    expect(now.status).toBe(200);
    expect(Date.parse(now.body.updated_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(now.body.created_at).toBe(chat.created_at);
  });

  it.each([
    ['2023-08-05 14:48:00', '2023-08-05T14:48:00.000Z'],
    ['2023-08-05 14:48:00.123456', '2023-08-05T14:48:00.123Z'],
    ['2023-08-05 16:48:00+02:00', '2023-08-05T14:48:00.000Z'],
  ])('PUT /chats/update/<id> takes updated_at as Python prints datetimes: %s', async (given, stored) => {
    const chat = await createChat();
    expect((await json(`/chats/update/${chat.id}`, jsonInit('PUT', { name: 'python', updated_at: given }))).body.updated_at).toBe(stored);
  });

  it('DELETE /chats/delete/<id> answers the deleted chat and removes its conversations', async () => {
    const chat = await createChat('doomed');
    await json('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'hi' }));
    expect(await json(`/chats/delete/${chat.id}`, { method: 'DELETE' })).toEqual({ status: 200, body: chat });
    expect((await json(`/chats/${chat.id}`)).status).toBe(404);
    expect(await app.database.prisma.conversation.count({ where: { chatId: chat.id } })).toBe(0);
  });
});

describe('conversations', () => {
  it('POST /conversations/create answers 201 with the new conversation in the seed shape, and where it is', async () => {
    const chat = await createChat();
    const response = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hello?' }));
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(Object.keys(body).sort()).toEqual(['chat_id', 'created_at', 'id', 'message', 'role', 'updated_at']);
    expect(body).toMatchObject({ chat_id: chat.id, role: 'Human', message: 'Hello?' });
    expect(body.created_at).toMatch(ISO_MS);
    expect(response.headers.get('location')).toBe(`/conversations/${body.id}`);
    expect(await json(response.headers.get('location')!)).toEqual({ status: 200, body });
  });

  it('GET /chats/<id>/conversations lists them oldest first', async () => {
    const chat = await createChat();
    const messages = ['one', 'two', 'three', 'four', 'five'];
    for (const [index, message] of messages.entries()) {
      const role = index % 2 === 0 ? 'Human' : 'Assistant';
      expect((await json('/conversations/create', jsonInit('POST', { chat_id: chat.id, role, message }))).status).toBe(201);
    }
    const { status, body } = await json(`/chats/${chat.id}/conversations`);
    expect(status).toBe(200);
    expect(body.map((c: { message: string }) => c.message)).toEqual(messages);
    expect(body.map((c: { role: string }) => c.role)).toEqual(['Human', 'Assistant', 'Human', 'Assistant', 'Human']);
  });
});

describe('bad input: a JSON error with the right status, nothing stored', () => {
  // biome-ignore format: one case per line, read as a table
  const cases: [string, () => Promise<[string, RequestInit]>, number, string, RegExp][] = [
    ['malformed JSON', async () => ['/chats/create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": ' }], 400, 'BAD_REQUEST', /Malformed JSON/],
    ['a body that is not JSON', async () => ['/chats/create', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'name=x' }], 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/],
    ['a name of the wrong type', async () => ['/chats/create', jsonInit('POST', { name: 42 })], 422, 'VALIDATION_FAILED', /name must be a string/],
    ['a missing name', async () => ['/chats/create', jsonInit('POST', {})], 422, 'VALIDATION_FAILED', /name is required/],
    ['an empty name', async () => ['/chats/create', jsonInit('POST', { name: '' })], 422, 'VALIDATION_FAILED', /name must not be empty/],
    ['an over-long name', async () => ['/chats/create', jsonInit('POST', { name: 'n'.repeat(201) })], 422, 'VALIDATION_FAILED', /at most 200/],
    ['a JSON array body', async () => ['/chats/create', jsonInit('POST', ['x'])], 422, 'VALIDATION_FAILED', /./],
    ['a body over the size limit', async () => ['/chats/create', jsonInit('POST', { name: 'x'.repeat(TEST_BODY_LIMIT) })], 413, 'PAYLOAD_TOO_LARGE', /exceeds/],
    ['a role outside Human|Assistant', async () => ['/conversations/create', jsonInit('POST', { chat_id: (await createChat()).id, role: 'System', message: 'x' })], 422, 'VALIDATION_FAILED', /role must be "Human" or "Assistant"/],
    ['a conversation for a missing chat', async () => ['/conversations/create', jsonInit('POST', { chat_id: UNKNOWN_ID, role: 'Human', message: 'x' })], 404, 'NOT_FOUND', /not found/],
    ['a malformed chat_id', async () => ['/conversations/create', jsonInit('POST', { chat_id: 'abc', role: 'Human', message: 'x' })], 422, 'VALIDATION_FAILED', /chat_id must be a UUID/],
    ['an empty message', async () => ['/conversations/create', jsonInit('POST', { chat_id: (await createChat()).id, role: 'Human', message: ' \n ' })], 422, 'VALIDATION_FAILED', /message must not be empty/],
    ['an over-long message', async () => ['/conversations/create', jsonInit('POST', { chat_id: (await createChat()).id, role: 'Human', message: 'm'.repeat(32_001) })], 422, 'VALIDATION_FAILED', /at most 32000/],
    ['an update with a bad updated_at', async () => [`/chats/update/${(await createChat()).id}`, jsonInit('PUT', { name: 'x', updated_at: 'yesterday' })], 422, 'VALIDATION_FAILED', /updated_at must be an ISO-8601/],
    ['an updated_at with two spaces', async () => [`/chats/update/${(await createChat()).id}`, jsonInit('PUT', { name: 'x', updated_at: '2023-08-05  14:48:00' })], 422, 'VALIDATION_FAILED', /updated_at must be an ISO-8601/],
    ['an updated_at with a space and no time', async () => [`/chats/update/${(await createChat()).id}`, jsonInit('PUT', { name: 'x', updated_at: '2023-08-05 ' })], 422, 'VALIDATION_FAILED', /updated_at must be an ISO-8601/],
    ['an updated_at with a space before the zone', async () => [`/chats/update/${(await createChat()).id}`, jsonInit('PUT', { name: 'x', updated_at: '2023-08-05 14:48:00 +02:00' })], 422, 'VALIDATION_FAILED', /updated_at must be an ISO-8601/],
    ['an update of an unknown chat', async () => [`/chats/update/${UNKNOWN_ID}`, jsonInit('PUT', { name: 'x' })], 404, 'NOT_FOUND', /not found/],
    ['an update with an empty name', async () => [`/chats/update/${(await createChat()).id}`, jsonInit('PUT', { name: '' })], 422, 'VALIDATION_FAILED', /name must not be empty/],
    ['a delete of an unknown chat', async () => [`/chats/delete/${UNKNOWN_ID}`, { method: 'DELETE' }], 404, 'NOT_FOUND', /not found/],
    ['a malformed chat id', async () => ['/chats/not-a-uuid', {}], 404, 'NOT_FOUND', /not found/],
    ['an unknown chat id', async () => [`/chats/${UNKNOWN_ID}`, {}], 404, 'NOT_FOUND', /not found/],
    ['conversations of an unknown chat', async () => [`/chats/${UNKNOWN_ID}/conversations`, {}], 404, 'NOT_FOUND', /not found/],
    ['an unknown conversation id', async () => [`/conversations/${UNKNOWN_ID}`, {}], 404, 'NOT_FOUND', /not found/],
    ['an unknown route', async () => ['/nowhere', {}], 404, 'NOT_FOUND', /No route/],
  ];

  it.each(cases)('%s', async (_name, build, status, code, detail) => {
    const [path, init] = await build();
    const before = await storedCounts();
    const response = await json(path, init);
    expect(response).toEqual({ status, body: { detail: expect.stringMatching(detail), code } });
    expect(await storedCounts()).toEqual(before);
  });
});

describe('a method a known path does not take: 405 with Allow, not 404', () => {
  it.each([
    ['GET', '/chats/create', 'POST'],
    ['POST', '/chats/', 'GET, HEAD'],
    ['DELETE', `/chats/${UNKNOWN_ID}`, 'GET, HEAD'],
    ['GET', `/chats/update/${UNKNOWN_ID}`, 'PUT'],
    ['POST', `/chats/delete/${UNKNOWN_ID}`, 'DELETE'],
    ['PUT', `/conversations/inference/${UNKNOWN_ID}`, 'GET, HEAD'],
    ['DELETE', '/healthz', 'GET, HEAD'],
  ])('%s %s', async (method, path, allow) => {
    const before = await storedCounts();
    const response = await app.request(path, method === 'GET' || method === 'DELETE' ? { method } : jsonInit(method, { name: 'x' }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect(await response.json()).toEqual({ detail: expect.stringContaining(allow), code: 'METHOD_NOT_ALLOWED' });
    expect(await storedCounts()).toEqual(before);
  });

  it('answers GraphQL clients in their own error shape', async () => {
    const response = await app.request('/graphql', { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
  });
});

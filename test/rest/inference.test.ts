import { EventSource } from 'eventsource';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit, listen, TEST_CALLER, type TestApp } from '../support/app.ts';
import { readSse, type SseEvent, sseEvents, tokensOf } from '../support/sse.ts';
import { recordedContent, startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

let tgi: TgiStandin;
let app: TestApp;
beforeAll(async () => {
  tgi = await startTgiStandin({ keepAliveMs: 0 });
  app = await createTestApp({
    TGI_URL: tgi.url,
    INFERENCE_GRACE_MS: '300',
    INFERENCE_FIRST_TOKEN_TIMEOUT_MS: '1500', // a cold first request on a busy machine takes a while
    INFERENCE_IDLE_TIMEOUT_MS: '400',
    INFERENCE_SYSTEM_PROMPT: 'Be brief.',
    INFERENCE_SAVE_INTERVAL_MS: '50',
  });
});
afterAll(async () => {
  await app.close();
  await tgi.close();
});

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await app.request(path, jsonInit('POST', body));
  expect(response.status).toBe(201);
  return response.json() as Promise<T>;
}

/** A chat with some history and a Human question; returns the question's id. */
async function question(message = 'What lives in the sea?', history: [string, string][] = []) {
  const chat = await post<{ id: string }>('/chats/create', { name: 'inference' });
  for (const [role, text] of history) await post('/conversations/create', { chat_id: chat.id, role, message: text });
  const asked = await post<{ id: string }>('/conversations/create', { chat_id: chat.id, role: 'Human', message });
  return { chatId: chat.id, id: asked.id };
}

const infer = (id: string, init: RequestInit & { query?: string } = {}) =>
  app.request(`/conversations/inference/${id}${init.query ?? ''}`, init);

const storedReplies = (replyToId: string) => app.database.prisma.conversation.findMany({ where: { replyToId }, orderBy: { seq: 'asc' } });

/** Reads until `count` events arrived, then hangs up. */
async function readSome(response: Response, count: number): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(response)) {
    events.push(event);
    if (events.length === count) break;
  }
  return events;
}

describe('GET /conversations/inference/<id>', () => {
  it.each(['sea_creatures_stream_none', 'json_schema_stream', 'chat_hfhub_usage'])(
    'streams the recorded TGI stream %s byte-exactly and stores the reply',
    async (recording) => {
      const asked = await question();
      const requestsBefore = tgi.requests.length;
      tgi.script({ kind: 'replay', recording });
      const response = await infer(asked.id);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('x-accel-buffering')).toBe('no');

      const events = await readSse(response);
      const text = recordedContent(recording);
      expect(tokensOf(events)).toBe(text);
      const done = events.at(-1)!;
      const positions = events.map((event) => event.position);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(new Set(positions).size).toBe(positions.length);
      // Every id names this reply: a resume can only continue it.
      expect(new Set(events.map((event) => event.id.split('.')[0]))).toEqual(new Set([(done.data.conversation as { id: string }).id]));

      expect(done.event).toBe('done');
      expect(done.data.conversation).toMatchObject({ role: 'Assistant', message: text, reply_to_id: asked.id, status: 'complete' });
      const [stored] = await storedReplies(asked.id);
      expect(stored).toMatchObject({ message: text, status: 'complete' });
      expect(stored!.finishReason).toMatch(/stop|length/);
      if (recording === 'chat_hfhub_usage') expect(done.data.usage).toEqual({ prompt_tokens: 39, completion_tokens: 3, total_tokens: 42 });
      expect(tgi.requests.length).toBe(requestsBefore + 1);
    },
  );

  it('sends the system prompt, then the history in order, then the question', async () => {
    const asked = await question('And in 1990?', [
      ['Human', 'Who won the World Cup in 1986?'],
      ['Assistant', 'Argentina.'],
    ]);
    tgi.script({ kind: 'tokens', tokens: ['West', ' Germany'] });
    await readSse(await infer(asked.id));
    expect(tgi.requests.at(-1)!.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Who won the World Cup in 1986?' },
      { role: 'assistant', content: 'Argentina.' },
      { role: 'user', content: 'And in 1990?' },
    ]);
  });

  it("accepts a chat's id for its latest Human message", async () => {
    const asked = await question('latest?', [['Human', 'earlier']]);
    tgi.script({ kind: 'tokens', tokens: ['yes'] });
    const events = await readSse(await infer(asked.chatId));
    expect(events.at(-1)!.data.conversation).toMatchObject({ reply_to_id: asked.id });
  });

  it.each(['inference', 'inference_internet'])(
    'HEAD /conversations/%s/<id> answers the stream headers and starts nothing',
    async (route) => {
      const asked = await question('Is this a link preview?');
      const before = tgi.requests.length;
      const response = await app.request(`/conversations/${route}/${asked.id}`, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await response.text()).toBe('');
      // Give a wrongly started generation the time to reach the model and store its reply.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(tgi.requests.length).toBe(before);
      expect(await storedReplies(asked.id)).toEqual([]);
    },
  );

  it.each([
    ['an unknown id', async () => '3fa85f64-5717-4562-b3fc-2c963f66afa6', 404, 'NOT_FOUND'],
    ['a malformed id', async () => 'nope', 404, 'NOT_FOUND'],
    [
      "an Assistant message's id",
      async () =>
        (await post<{ id: string }>('/conversations/create', { chat_id: (await question()).chatId, role: 'Assistant', message: 'hi' })).id,
      422,
      'VALIDATION_FAILED',
    ],
  ])('answers %s with a JSON error before any stream', async (_case, id, status, code) => {
    const before = tgi.requests.length;
    const response = await infer(await id());
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toMatchObject({ code });
    expect(tgi.requests.length).toBe(before);
  });

  it('answers 503 before any stream when no model server is configured', async () => {
    const unconfigured = await createTestApp();
    try {
      const response = await unconfigured.request('/conversations/inference/3fa85f64-5717-4562-b3fc-2c963f66afa6');
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', detail: expect.stringMatching(/TGI_URL/) });
    } finally {
      await unconfigured.close();
    }
  });
});

describe('faults: the listener always gets error or done, nothing is stored as complete unless it is', () => {
  it.each([
    ['validation', 422, 'UPSTREAM_REJECTED'],
    ['generation', 424, 'UPSTREAM_ERROR'],
    ['overloaded', 429, 'UPSTREAM_OVERLOADED'],
    ['incomplete_generation', 500, 'UPSTREAM_ERROR'],
  ] as const)('upstream %s (%i) before the stream', async (errorType, _status, code) => {
    const asked = await question();
    tgi.script({ kind: 'http-error', errorType });
    const events = await readSse(await infer(asked.id));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'error', data: { code } });
    const [stored] = await storedReplies(asked.id);
    expect(stored).toMatchObject({ status: 'failed', errorCode: code, message: '' });
  });

  it.each([
    [
      'an error frame mid-stream',
      { kind: 'error-frame', afterTokens: ['Half', ' an'], errorType: 'generation' } as const,
      'UPSTREAM_ERROR',
    ],
    [
      'the connection dropped mid-stream',
      { kind: 'drop', afterTokens: ['Half', ' an'], pacing: { intervalMs: 10 } } as const,
      'UPSTREAM_ERROR',
    ],
    ['a stall between tokens', { kind: 'stall', afterTokens: ['Half', ' an'] } as const, 'UPSTREAM_TIMEOUT'],
  ])('%s: partial text kept, stored as failed', async (_case, behaviour, code) => {
    const asked = await question();
    tgi.script(behaviour);
    const events = await readSse(await infer(asked.id));
    expect(tokensOf(events)).toBe('Half an');
    expect(events.at(-1)).toMatchObject({ event: 'error', position: 'Half an'.length + 1, data: { code } });
    const [stored] = await storedReplies(asked.id);
    expect(stored).toMatchObject({ status: 'failed', errorCode: code, message: 'Half an' });
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('no first token within the timeout: UPSTREAM_TIMEOUT and the upstream request is closed', async () => {
    const asked = await question();
    const index = tgi.requests.length;
    tgi.script({ kind: 'no-first-token' });
    const events = await readSse(await infer(asked.id));
    expect(events).toEqual([expect.objectContaining({ event: 'error', data: expect.objectContaining({ code: 'UPSTREAM_TIMEOUT' }) })]);
    expect((await tgi.waitForClientClose(index)).clientClosed).toBe(true);
  });

  it('every client gone: the generation goes on for the grace period, then upstream is aborted and the partial stored', async () => {
    const asked = await question();
    const index = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), pacing: { intervalMs: 20 } });
    const seen = await readSome(await infer(asked.id), 3);
    expect(seen).toHaveLength(3);
    const closed = await tgi.waitForClientClose(index);
    // Aborted after the grace period, not at once: more tokens were generated after the client left.
    expect(closed.tokensSent).toBeGreaterThan(3);
    expect(closed.tokensSent).toBeLessThan(200);
    await expect.poll(async () => (await storedReplies(asked.id))[0]?.status).toBe('incomplete');
    const [stored] = await storedReplies(asked.id);
    expect(stored!.message.length).toBeGreaterThan(tokensOf(seen).length);
    expect(stored!.errorCode).toBe('ABANDONED');
  });

  it('a reconnect with Last-Event-ID within the grace period resumes with no gap and no duplicate', async () => {
    const asked = await question();
    const before = tgi.requests.length;
    const tokens = Array.from({ length: 40 }, (_, i) => `w${i} `);
    tgi.script({ kind: 'tokens', tokens, pacing: { intervalMs: 10 } });
    const first = await readSome(await infer(asked.id), 5);
    const lastId = first.at(-1)!.id;
    const rest = await readSse(await infer(asked.id, { headers: { 'last-event-id': String(lastId) } }));
    expect(tokensOf(first) + tokensOf(rest)).toBe(tokens.join(''));
    expect(rest.at(-1)!.event).toBe('done');
    expect(tgi.requests.length).toBe(before + 1);

    // ...and after it finished, from the store (query-string form of the id).
    const again = await readSse(await infer(asked.id, { query: `?lastEventId=${lastId}` }));
    expect(tokensOf(first) + tokensOf(again)).toBe(tokens.join(''));
    expect(tgi.requests.length).toBe(before + 1);
  });

  it('two clients on one message share one upstream request', async () => {
    const asked = await question();
    const before = tgi.requests.length;
    const tokens = Array.from({ length: 20 }, (_, i) => `s${i} `);
    tgi.script({ kind: 'tokens', tokens, pacing: { intervalMs: 10 } });
    const [a, b] = await Promise.all([infer(asked.id), infer(asked.id)]);
    const [eventsA, eventsB] = await Promise.all([readSse(a), readSse(b)]);
    expect(tokensOf(eventsA)).toBe(tokens.join(''));
    expect(tokensOf(eventsB)).toBe(tokens.join(''));
    expect(tgi.requests.length).toBe(before + 1);
    expect(await storedReplies(asked.id)).toHaveLength(1);
  });

  it('saves the text of every running reply as it streams, in one statement per interval, not one per reply', async () => {
    const [one, two] = await Promise.all([question(), question()]);
    const tokens = Array.from({ length: 40 }, (_, i) => `p${i} `);
    tgi.script({ kind: 'tokens', tokens, pacing: { intervalMs: 15 } }, { kind: 'tokens', tokens, pacing: { intervalMs: 15 } });
    const responses = await Promise.all([infer(one.id), infer(two.id)]);
    app.database.statements.length = 0;
    // Both rows show a growing prefix of the reply while it is still streaming.
    for (const asked of [one, two]) {
      await expect
        .poll(async () => {
          const [row] = await storedReplies(asked.id);
          return row?.status === 'streaming' && row.message.length > 0 && tokens.join('').startsWith(row.message);
        })
        .toBe(true);
    }
    // (The recovery sweep of orphaned replies is an UPDATE too, of no text.)
    const updates = app.database.statements.filter((sql) => /^\s*UPDATE/i.test(sql) && !/SET status = 'incomplete'/.test(sql));
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.every((sql) => /FROM \(VALUES/.test(sql))).toBe(true);
    const events = await Promise.all(responses.map(readSse));
    for (const streamed of events) expect(tokensOf(streamed)).toBe(tokens.join(''));
    for (const asked of [one, two])
      expect((await storedReplies(asked.id))[0]).toMatchObject({ status: 'complete', message: tokens.join('') });
  });

  it('stores a reply whose tokens hold U+0000 (which PostgreSQL text refuses), as U+FFFD both streamed and stored', async () => {
    const asked = await question();
    tgi.script({ kind: 'tokens', tokens: ['nul\u0000byte', ' and', ' more'], pacing: { intervalMs: 30 } });
    const events = await readSse(await infer(asked.id));
    expect(tokensOf(events)).toBe('nul\uFFFDbyte and more');
    expect(events.at(-1)!.event).toBe('done');
    expect((await storedReplies(asked.id))[0]).toMatchObject({ status: 'complete', message: 'nul\uFFFDbyte and more' });
  });

  it('a slow client does not hold the generation back and still gets every token', async () => {
    const asked = await question();
    tgi.script({ kind: 'replay', recording: 'sea_creatures_stream_none' });
    const response = await infer(asked.id);
    // Nothing read yet, and the reply is already complete in the store.
    await expect.poll(async () => (await storedReplies(asked.id))[0]?.status).toBe('complete');
    const chunks: string[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) chunks.push(chunk.value);
    const events = await readSse(new Response(chunks.join('')));
    expect(tokensOf(events)).toBe(recordedContent('sea_creatures_stream_none'));
    expect(events.at(-1)!.event).toBe('done');
    // What queued up while the client was away left in a few writes, not one per event.
    expect(events.length).toBeGreaterThan(10);
    expect(chunks.length).toBeLessThanOrEqual(3);
  });

  it('regenerate=true asks for a fresh reply, stored as a new Assistant conversation', async () => {
    const asked = await question();
    tgi.script({ kind: 'tokens', tokens: ['first'] }, { kind: 'tokens', tokens: ['second'] });
    expect(tokensOf(await readSse(await infer(asked.id)))).toBe('first');
    expect(tokensOf(await readSse(await infer(asked.id)))).toBe('first'); // replayed, not generated
    expect(tokensOf(await readSse(await infer(asked.id, { query: '?regenerate=true' })))).toBe('second');
    expect((await storedReplies(asked.id)).map((reply) => reply.message)).toEqual(['first', 'second']);
  });
});

describe('heartbeat', () => {
  it('sends a comment line on a quiet stream, before the final event', async () => {
    const quiet = await createTestApp({ TGI_URL: tgi.url, SSE_HEARTBEAT_MS: '40', INFERENCE_FIRST_TOKEN_TIMEOUT_MS: '300' });
    try {
      const chat = await quiet.services.chats.create(TEST_CALLER, { name: 'quiet' });
      const asked = await quiet.services.conversations.create(TEST_CALLER, { chatId: chat.id, role: 'Human', message: 'hello?' });
      tgi.script({ kind: 'no-first-token' });
      const body = await (await quiet.request(`/conversations/inference/${asked.id}`)).text();
      expect(body).toMatch(/^retry: 3000\n\n(: heartbeat\n\n)+id: [0-9a-f-]{36}\.1\nevent: error\n/);
    } finally {
      await quiet.close();
    }
  });
});

describe('shutdown', () => {
  it('stores running generations as incomplete, tells their listeners, and refuses new ones', async () => {
    const closing = await createTestApp({ TGI_URL: tgi.url });
    try {
      const chat = await closing.services.chats.create(TEST_CALLER, { name: 'closing' });
      const asked = await closing.services.conversations.create(TEST_CALLER, { chatId: chat.id, role: 'Human', message: 'long answer?' });
      tgi.script({ kind: 'tokens', tokens: Array.from({ length: 500 }, (_, i) => `z${i} `), pacing: { intervalMs: 10 } });
      const events = sseEvents(await closing.request(`/conversations/inference/${asked.id}`));
      const first = await events.next();
      expect(first.value).toMatchObject({ event: 'message' });
      await closing.shutdown();
      const rest: SseEvent[] = [];
      for await (const event of events) rest.push(event);
      expect(rest.at(-1)).toMatchObject({ event: 'error', data: { code: 'SHUTDOWN' } });
      const [stored] = await closing.database.prisma.conversation.findMany({ where: { replyToId: asked.id } });
      expect(stored).toMatchObject({ status: 'incomplete', errorCode: 'SHUTDOWN' });
      expect(stored!.message.length).toBeGreaterThan(0);
      expect((await closing.request(`/conversations/inference/${asked.id}`)).status).toBe(503);
    } finally {
      await closing.close();
    }
  });
});

describe('EventSource', () => {
  it('reconnecting after done replays nothing and starts no new generation', async () => {
    const server = await listen(app);
    const asked = await question();
    const before = tgi.requests.length;
    tgi.script({ kind: 'tokens', tokens: ['Hello', ' there'] });
    const source = new EventSource(`${server.url}/conversations/inference/${asked.id}`);
    try {
      const received: string[] = [];
      source.onmessage = (event) => received.push(event.data);
      const done = new Promise<void>((resolve) => source.addEventListener('done', () => resolve()));
      // After `done` the server ends the stream; EventSource reconnects with Last-Event-ID, gets 204 and gives up.
      const gaveUp = new Promise<void>((resolve) => {
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) resolve();
        };
      });
      await done;
      await gaveUp;
      expect(received.join('')).toBe('Hello there');
      expect(tgi.requests.length).toBe(before + 1);
      // A new page load (no Last-Event-ID) gets the stored reply, still without a new generation.
      const replayed = await readSse(await infer(asked.id));
      expect(tokensOf(replayed)).toBe('Hello there');
      expect(tgi.requests.length).toBe(before + 1);
    } finally {
      source.close();
      await server.close();
    }
  });

  it('onmessage alone reassembles the reply: tokens are unnamed events of raw text, a token of several lines is several data lines', async () => {
    const server = await listen(app);
    const asked = await question();
    const tokens = [
      'Hello',
      ' world',
      '\n\n',
      '  indented\nline two',
      ' é 🐟',
      ' {"json": "as text"}',
      ' crlf\r\nand cr\ralone',
      ' data: x',
      '\n',
    ];
    tgi.script({ kind: 'tokens', tokens });
    const source = new EventSource(`${server.url}/conversations/inference/${asked.id}`);
    try {
      const messages: MessageEvent[] = [];
      source.onmessage = (event) => messages.push(event);
      const done = new Promise<MessageEvent>((resolve) => source.addEventListener('done', resolve));
      const conversation = JSON.parse((await done).data).conversation;

      expect(messages).toHaveLength(tokens.length);
      // A "\r" arrives as a line break; the stored conversation in `done` has the exact text.
      expect(messages.map((event) => event.data).join('')).toBe(tokens.join('').replace(/\r\n?/g, '\n'));
      expect(conversation.message).toBe(tokens.join(''));
      expect(messages.at(-1)!.lastEventId).toBe(`${conversation.id}.${tokens.join('').length}`);
    } finally {
      source.close();
      await server.close();
    }
  });

  it('opens with the reconnection delay of SSE_RETRY_MS', async () => {
    const configured = await createTestApp({ TGI_URL: tgi.url, SSE_RETRY_MS: '1500' });
    try {
      const chat = await configured.services.chats.create(TEST_CALLER, { name: 'retry' });
      const asked = await configured.services.conversations.create(TEST_CALLER, { chatId: chat.id, role: 'Human', message: 'again?' });
      tgi.script({ kind: 'tokens', tokens: ['yes'] });
      const retries: number[] = [];
      const parser = createParser({ onEvent: () => {}, onRetry: (retry) => retries.push(retry) });
      parser.feed(await (await configured.request(`/conversations/inference/${asked.id}`)).text());
      expect(retries).toEqual([1500]);
    } finally {
      await configured.close();
    }
  });
});

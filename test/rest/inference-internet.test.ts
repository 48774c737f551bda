/**
 * GET /conversations/inference_internet/<id>: the real `serpapi` package against the SerpAPI
 * stand-in over HTTPS (its certificate trusted through SERPAPI_CA_FILE), with the TGI stand-in as
 * the model server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit, type TestApp } from '../support/app.ts';
import { defaultPage, type SerpApiStandin, type SerpBehaviour, startSerpApiStandin } from '../support/serpapi-standin.ts';
import { readSse, type SseEvent, sseEvents, tokensOf } from '../support/sse.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

let tgi: TgiStandin;
let serp: SerpApiStandin;
let app: TestApp;
const extraApps: TestApp[] = [];

/** The environment of a gateway using the stand-ins; `overrides` replace or (with '') unset a variable. */
function environment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    TGI_URL: tgi.url,
    INFERENCE_SYSTEM_PROMPT: 'Be brief.',
    INFERENCE_GRACE_MS: '300',
    INFERENCE_SAVE_INTERVAL_MS: '50',
    SERPAPI_API_KEY: serp.apiKey,
    SERPAPI_BASE_URL: serp.url,
    SERPAPI_CA_FILE: serp.caFile,
    SEARCH_ORGANIC_RESULTS: '3',
    ...overrides,
  };
}

async function otherApp(overrides: Record<string, string>): Promise<TestApp> {
  const other = await createTestApp(environment(overrides));
  extraApps.push(other);
  return other;
}

beforeAll(async () => {
  [tgi, serp] = await Promise.all([startTgiStandin({ keepAliveMs: 0 }), startSerpApiStandin()]);
  app = await createTestApp(environment());
  tgi.setDefault({ kind: 'tokens', tokens: ['West', ' Germany', ' [1].'] });
});

afterAll(async () => {
  for (const other of extraApps) await other.close();
  await app?.close();
  await Promise.all([tgi?.close(), serp?.close()]);
});

async function post<T>(target: TestApp, path: string, body: unknown): Promise<T> {
  const response = await target.request(path, jsonInit('POST', body));
  expect(response.status).toBe(201);
  return response.json() as Promise<T>;
}

/** A new chat holding `history` then the Human `message`; returns the chat's and the message's ids. */
async function question(message: string, history: [string, string][] = [], target = app) {
  const chat = await post<{ id: string }>(target, '/chats/create', { name: 'internet' });
  for (const [role, text] of history) await post(target, '/conversations/create', { chat_id: chat.id, role, message: text });
  const asked = await post<{ id: string }>(target, '/conversations/create', { chat_id: chat.id, role: 'Human', message });
  return { chatId: chat.id, id: asked.id };
}

const inferInternet = (id: string, init: RequestInit = {}, target = app) => target.request(`/conversations/inference_internet/${id}`, init);

const systemPromptOf = (request: { body: { messages: { role: string; content?: unknown }[] } }) =>
  request.body.messages[0]!.content as string;

const WORLD_CUP_PAGE: SerpBehaviour = {
  kind: 'results',
  answerBox: {
    type: 'organic_result',
    title: '1990 FIFA World Cup',
    answer: 'West Germany',
    link: 'https://en.wikipedia.org/wiki/1990_FIFA_World_Cup',
  },
  knowledgeGraph: {
    title: '1990 FIFA World Cup',
    type: 'Football tournament',
    description: 'The 1990 FIFA World Cup was the 14th FIFA World Cup, held in Italy.',
    source: { name: 'Wikipedia', link: 'https://en.wikipedia.org/wiki/1990_FIFA_World_Cup' },
  },
  organic: [
    { title: 'World Cup 1990 final', link: 'https://www.fifa.test/1990/final', snippet: 'West Germany beat Argentina 1–0 in Rome.' },
    {
      title: '1990 FIFA World Cup - Wikipedia',
      link: 'https://en.wikipedia.org/wiki/1990_FIFA_World_Cup#Final',
      snippet: 'Held in Italy.',
    },
    { title: 'Italia 90 remembered', link: 'https://news.test/italia-90', snippet: 'Thirty-six years on.' },
    { title: 'Beyond the top three', link: 'https://fourth.test/', snippet: 'Not used.' },
  ],
};

const WORLD_CUP_SOURCES = [
  {
    index: 1,
    title: '1990 FIFA World Cup',
    url: 'https://en.wikipedia.org/wiki/1990_FIFA_World_Cup',
    snippet: 'West Germany … Football tournament: The 1990 FIFA World Cup was the 14th FIFA World Cup, held in Italy. … Held in Italy.',
  },
  { index: 2, title: 'World Cup 1990 final', url: 'https://www.fifa.test/1990/final', snippet: 'West Germany beat Argentina 1–0 in Rome.' },
  { index: 3, title: 'Italia 90 remembered', url: 'https://news.test/italia-90', snippet: 'Thirty-six years on.' },
];

describe('GET /conversations/inference_internet/<id>', () => {
  it('searches for the follow-up made self-contained, streams sources first, grounds the model and stores the sources', async () => {
    const asked = await question('and in 1990?', [
      ['Human', 'Who won the World Cup in 1986?'],
      ['Assistant', 'Argentina.'],
    ]);
    serp.script(WORLD_CUP_PAGE);
    const searches = serp.requests.length;
    const before = new Date().toISOString().slice(0, 10);
    const response = await inferInternet(asked.id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(response);
    const after = new Date().toISOString().slice(0, 10);

    // What reached SerpAPI: one Google search for the subject, not for "and in 1990?".
    expect(serp.requests.length).toBe(searches + 1);
    const search = serp.requests.at(-1)!;
    expect(search.params).toMatchObject({
      engine: 'google',
      q: 'Who won the World Cup in 1986? and in 1990?',
      api_key: serp.apiKey,
      num: '3',
      output: 'json',
    });
    expect(search.host).toBe(new URL(serp.url).host);

    // Sources, then the tokens, then done.
    expect(events.map((event) => event.event)).toEqual(['sources', 'message', 'message', 'message', 'done']);
    expect(events[0]).toMatchObject({
      position: 0,
      event: 'sources',
      data: { sources: WORLD_CUP_SOURCES, error: null, query: 'Who won the World Cup in 1986? and in 1990?' },
    });
    expect(tokensOf(events)).toBe('West Germany [1].');

    // The model got today's date, the instruction and every snippet; the question is still the last user turn.
    const messages = tgi.requests.at(-1)!.body.messages;
    const system = systemPromptOf(tgi.requests.at(-1)!);
    expect(messages[0]!.role).toBe('system');
    expect(system.startsWith('Be brief.')).toBe(true);
    expect([`Today's date is ${before}.`, `Today's date is ${after}.`]).toContain(system.match(/Today's date is [\d-]+\./)?.[0]);
    expect(system).toMatch(/Cite the results you use inline by their number in square brackets, like \[1\]/);
    for (const source of WORLD_CUP_SOURCES) {
      expect(system).toContain(`[${source.index}] ${source.title} (${source.url})\n${source.snippet}`);
    }
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Who won the World Cup in 1986?' },
      { role: 'assistant', content: 'Argentina.' },
      { role: 'user', content: 'and in 1990?' },
    ]);

    // Stored with the reply, and in its REST JSON (the done event's and the list's).
    const replyJson = {
      role: 'Assistant',
      message: 'West Germany [1].',
      status: 'complete',
      grounded: true,
      search_query: 'Who won the World Cup in 1986? and in 1990?',
      sources: WORLD_CUP_SOURCES,
      search_error: null,
    };
    expect(events.at(-1)!.data.conversation).toMatchObject(replyJson);
    const listed = (await (await app.request(`/chats/${asked.chatId}/conversations`)).json()) as Record<string, unknown>[];
    expect(listed.at(-1)).toMatchObject(replyJson);
    // Messages clients wrote keep the seed's exact shape.
    expect(Object.keys(listed[0]!).sort()).toEqual(['chat_id', 'created_at', 'id', 'message', 'role', 'updated_at']);
  });

  it('replays a stored internet answer with its sources, without searching or generating again', async () => {
    const asked = await question('Who painted the Mona Lisa?');
    const first = await readSse(await inferInternet(asked.id));
    const searches = serp.requests.length;
    const generations = tgi.requests.length;

    const replayed = await readSse(await inferInternet(asked.id));
    expect(replayed.map((event) => event.event)).toEqual(['sources', 'message', 'done']);
    expect(replayed[0]).toEqual(first[0]);
    expect(tokensOf(replayed)).toBe(tokensOf(first));
    expect(serp.requests.length).toBe(searches);
    expect(tgi.requests.length).toBe(generations);
  });

  it('sends the sources again to a listener resuming with Last-Event-ID, at the position it resumes from', async () => {
    const asked = await question('What is the speed of light?');
    const tokens = Array.from({ length: 30 }, (_, i) => `c${i} `);
    tgi.script({ kind: 'tokens', tokens, pacing: { intervalMs: 10 } });
    const first: SseEvent[] = [];
    for await (const event of sseEvents(await inferInternet(asked.id))) {
      first.push(event);
      if (first.length === 4) break;
    }
    const lastId = first.at(-1)!.id;
    const rest = await readSse(await inferInternet(asked.id, { headers: { 'last-event-id': String(lastId) } }));
    expect(rest[0]).toEqual({ ...first[0], id: lastId, position: first.at(-1)!.position });
    expect(tokensOf(first) + tokensOf(rest)).toBe(tokens.join(''));
    expect(rest.at(-1)!.event).toBe('done');
  });

  it('a second listener joining during the search gets the same stream, sources first, from one search and one generation', async () => {
    const text = `Joining during the search ${crypto.randomUUID()}`;
    const asked = await question(text);
    serp.script({ kind: 'results', delayMs: 300, ...defaultPage(text) });
    const [searches, generations] = [serp.requests.length, tgi.requests.length];
    const first = await inferInternet(asked.id);
    const second = await inferInternet(asked.id);
    const [one, two] = await Promise.all([readSse(first), readSse(second)]);
    expect(one.map((event) => event.event)).toEqual(['sources', 'message', 'message', 'message', 'done']);
    expect(two).toEqual(one);
    expect([serp.requests.length, tgi.requests.length]).toEqual([searches + 1, generations + 1]);
  });

  it('serves identical questions from the cache: one search for both (case and spacing aside)', async () => {
    const first = await question('What is the capital of Australia?');
    const second = await question('what is the capital of   australia?');
    const searches = serp.requests.length;
    const [one, two] = await Promise.all([readSse(await inferInternet(first.id)), readSse(await inferInternet(second.id))]);
    expect(serp.requests.length).toBe(searches + 1);
    expect(one[0]!.data.sources).toHaveLength(3);
    expect(two[0]!.data.sources).toEqual(one[0]!.data.sources);
    // Both answers were grounded in those sources.
    for (const request of tgi.requests.slice(-2)) expect(systemPromptOf(request)).toContain('[3] Result 3 for');
  });

  it('searches again once SEARCH_CACHE_TTL_MS has passed', async () => {
    const shortCache = await otherApp({ SEARCH_CACHE_TTL_MS: '1500' });
    const ask = async () => readSse(await inferInternet((await question('How high is Mont Blanc?', [], shortCache)).id, {}, shortCache));
    const searches = serp.requests.length;
    await ask();
    await ask();
    expect(serp.requests.length).toBe(searches + 1);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await ask();
    expect(serp.requests.length).toBe(searches + 2);
  });

  it('keeps plain and internet answers to one message apart', async () => {
    const asked = await question('Is it going to rain in Paris tomorrow?');
    const plain = await readSse(await app.request(`/conversations/inference/${asked.id}`));
    expect(plain.map((event) => event.event)).toEqual(['message', 'message', 'message', 'done']);
    expect(plain.at(-1)!.data.conversation).not.toHaveProperty('sources');

    const searches = serp.requests.length;
    const internet = await readSse(await inferInternet(asked.id));
    expect(internet[0]!.event).toBe('sources');
    expect(serp.requests.length).toBe(searches + 1);
    // Each replays its own reply.
    expect((await readSse(await app.request(`/conversations/inference/${asked.id}`)))[0]!.event).toBe('message');
    expect((await readSse(await inferInternet(asked.id)))[0]!.event).toBe('sources');
  });
});

describe('search failures: told in the sources event, answered ungrounded, stored as not grounded', () => {
  async function expectUngrounded(target: TestApp, asked: { id: string; chatId: string }, code: string) {
    const generations = tgi.requests.length;
    const events = await readSse(await inferInternet(asked.id, {}, target));
    expect(events.map((event) => event.event)).toEqual(['sources', 'message', 'message', 'message', 'done']);
    expect(events[0]!.data).toMatchObject({ sources: [], error: { code, detail: expect.stringMatching(/^Web search|search quota/) } });
    // The listener is told what happened, not the gateway's internals (addresses, keys, TLS details).
    expect(JSON.stringify(events[0]!.data.error)).not.toMatch(/127\.0\.0\.1|localhost|ECONN|certificate|api_key|serpapi\.com/i);
    // The model was still asked, without sources, and told the search failed.
    expect(tgi.requests.length).toBe(generations + 1);
    const system = systemPromptOf(tgi.requests.at(-1)!);
    expect(system).toContain('do not cite sources');
    expect(system).not.toContain('<search_results');
    const stored = events.at(-1)!.data.conversation;
    expect(stored).toMatchObject({ status: 'complete', grounded: false, sources: [], search_error: { code } });
    const [row] = await target.database.prisma.conversation.findMany({ where: { replyToId: asked.id } });
    expect(row).toMatchObject({ internet: true, sources: [], searchErrorCode: code, status: 'complete' });
    return events;
  }

  it.each([
    ['out of searches (429)', { kind: 'error', errorType: 'outOfSearches' } as const, 'SEARCH_QUOTA_EXCEEDED'],
    ['a SerpAPI fault (500)', { kind: 'error', errorType: 'internal' } as const, 'SEARCH_FAILED'],
    ['no results', { kind: 'no-results' } as const, 'SEARCH_NO_RESULTS'],
    ['an organic-only page with no usable result', { kind: 'results', organic: [] } as const, 'SEARCH_NO_RESULTS'],
    ['a malformed answer', { kind: 'malformed' } as const, 'SEARCH_MALFORMED'],
  ])('%s', async (_case, behaviour, code) => {
    const asked = await question(`A question for the ${code} case: ${crypto.randomUUID()}`);
    serp.script(behaviour);
    await expectUngrounded(app, asked, code);
  });

  it('no answer within SEARCH_TIMEOUT_MS', async () => {
    const impatient = await otherApp({ SEARCH_TIMEOUT_MS: '300' });
    serp.script({ kind: 'stall' });
    await expectUngrounded(impatient, await question('Will it answer in time?', [], impatient), 'SEARCH_TIMEOUT');
  });

  it('is not cached: the same question searches again after a failure', async () => {
    const text = `What is the population of Lyon? ${crypto.randomUUID()}`;
    serp.script({ kind: 'error', errorType: 'outOfSearches' });
    await expectUngrounded(app, await question(text), 'SEARCH_QUOTA_EXCEEDED');
    const searches = serp.requests.length;
    const events = await readSse(await inferInternet((await question(text)).id));
    expect(serp.requests.length).toBe(searches + 1);
    expect(events[0]!.data).toMatchObject({ error: null, sources: expect.arrayContaining([expect.objectContaining({ index: 1 })]) });
  });

  it('a bad API key (SerpAPI answers 401)', async () => {
    const badKey = await otherApp({ SERPAPI_API_KEY: 'not-the-key' });
    await expectUngrounded(badKey, await question('Who wrote Hamlet?', [], badKey), 'SEARCH_UNAUTHORIZED');
    expect(serp.requests.at(-1)!.params.api_key).toBe('not-the-key');
  });

  it('an untrusted certificate (no SERPAPI_CA_FILE): the TLS check is real', async () => {
    const untrusting = await otherApp({ SERPAPI_CA_FILE: '' });
    const searches = serp.requests.length;
    await expectUngrounded(untrusting, await question('Who wrote Faust?', [], untrusting), 'SEARCH_FAILED');
    expect(serp.requests.length).toBe(searches);
  });

  it('SerpAPI unreachable', async () => {
    const unreachable = await otherApp({ SERPAPI_BASE_URL: 'https://127.0.0.1:9' });
    await expectUngrounded(unreachable, await question('Who wrote Ulysses?', [], unreachable), 'SEARCH_FAILED');
  });
});

describe('refusals', () => {
  it('answers 503 with a clear detail before any stream when SERPAPI_API_KEY is not set, and stores nothing', async () => {
    const keyless = await otherApp({ SERPAPI_API_KEY: '' });
    const asked = await question('Anything new today?', [], keyless);
    const [searches, generations] = [serp.requests.length, tgi.requests.length];
    const response = await inferInternet(asked.id, {}, keyless);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      detail: 'Web search is not configured on this gateway: set SERPAPI_API_KEY',
    });
    expect(await keyless.database.prisma.conversation.count({ where: { replyToId: asked.id } })).toBe(0);
    expect([serp.requests.length, tgi.requests.length]).toEqual([searches, generations]);
    // Plain inference still works on that gateway.
    const plain = await readSse(await keyless.request(`/conversations/inference/${asked.id}`));
    expect(plain.at(-1)!.event).toBe('done');
  });

  it('the listener leaving during a slow search: the wait ends after the grace period, the model is never asked', async () => {
    // The search would take 10 s to time out: only the generation being stopped can end it sooner.
    const patient = await otherApp({ SEARCH_TIMEOUT_MS: '10000' });
    const text = `Slow search ${crypto.randomUUID()}`;
    const asked = await question(text, [], patient);
    serp.script({ kind: 'stall' });
    const response = await inferInternet(asked.id, {}, patient);
    expect(response.status).toBe(200);
    await response.body!.cancel();
    const reply = () => patient.database.prisma.conversation.findFirst({ where: { replyToId: asked.id } });
    await expect.poll(async () => (await reply())?.status, { timeout: 3_000 }).toBe('incomplete');
    expect(await reply()).toMatchObject({ errorCode: 'ABANDONED', message: '', internet: true, sources: null });
    expect(serp.requests.at(-1)).toMatchObject({ params: { q: text }, behaviour: { kind: 'stall' } });
    expect(tgi.requests.some((request) => JSON.stringify(request.body).includes(text))).toBe(false);
  });
});

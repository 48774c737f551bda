/**
 * The hostile input corpus: requests a client must not be able to turn into a 500, a stored row, a
 * started generation or a leak of the gateway's internals. Every REST route and every GraphQL root
 * field is sent wrong types, out-of-range numbers, malformed ids, cursors and timestamps, characters
 * PostgreSQL cannot store, broken JSON and the like.
 *
 * Each case is a plain description (method, path, headers, body) in which `<chat>`, `<human>`,
 * `<assistant>` and `<empty-chat>` stand for the ids of the seeded fixture; `hostileRequest` turns
 * it into a Request over a base of headers, so the same table can run under any way of calling the
 * gateway (anonymous, with a credential…).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/errors.ts';
import { ownerCaller } from '../../src/services/caller.ts';
import { bearer, createTestApp, TEST_BODY_LIMIT, TEST_CALLER, type TestApp } from '../support/app.ts';
import { startTgiStandin, type TgiStandin } from '../support/tgi-standin.ts';

interface HostileCase {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

type FixtureIds = Record<'chat' | 'human' | 'assistant' | 'empty-chat', string>;

const PLACEHOLDER = /<(chat|human|assistant|empty-chat)>/g;

/** The Request `hostile` describes, with the fixture's ids filled in, over the headers of a way of calling. */
function hostileRequest(hostile: HostileCase, ids: FixtureIds, baseHeaders: Record<string, string> = {}): Request {
  const fill = (text: string) => text.replace(PLACEHOLDER, (_match, name: keyof FixtureIds) => ids[name]);
  return new Request(new URL(fill(hostile.path), 'http://gateway.test'), {
    method: hostile.method,
    headers: { ...baseHeaders, ...hostile.headers },
    body: hostile.body === undefined ? undefined : fill(hostile.body),
  });
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

const UNKNOWN_ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const JSON_TYPE = { 'content-type': 'application/json' };
const GRAPHQL_RESPONSE = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
const EVENT_STREAM = { 'content-type': 'application/json', accept: 'text/event-stream' };

/** A readable label for a value that may be long or hold control characters. */
function label(value: string): string {
  const shown = JSON.stringify(value).slice(1, -1);
  return shown.length > 60 ? `${shown.slice(0, 40)}…(${value.length} chars)` : shown;
}

const restCase = (method: string, path: string, what: string, body?: string, headers?: Record<string, string>): HostileCase => ({
  name: `${method} ${path.replace(/\?.*/, '')}: ${what}`,
  method,
  path,
  headers: body === undefined ? headers : { ...JSON_TYPE, ...headers },
  body,
});

/** Path segments that are no chat or conversation: malformed, unknown, oddly encoded. */
const BAD_IDS: [string, string][] = [
  ['not a UUID', 'not-a-uuid'],
  ['a number', '123'],
  ['a negative number', '-1'],
  ['zero', '0'],
  ['an overflowing number', '1e309'],
  ['NaN', 'NaN'],
  ['null', 'null'],
  ['undefined', 'undefined'],
  ['an unknown UUID', UNKNOWN_ID],
  ['an unknown UUID in capitals', UNKNOWN_ID.toUpperCase()],
  ['the nil UUID', '00000000-0000-0000-0000-000000000000'],
  ['a UUID one digit short', UNKNOWN_ID.slice(0, -1)],
  ['a UUID one digit long', `${UNKNOWN_ID}a`],
  ['a UUID without dashes', UNKNOWN_ID.replaceAll('-', '')],
  ['a UUID in braces', `%7B${UNKNOWN_ID}%7D`],
  ['a UUID of non-hex letters', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
  ['a fixture id with a trailing NUL', '<chat>%00'],
  ['a fixture id with a trailing space', '<chat>%20'],
  ['a fixture id with a leading space', '%20<chat>'],
  ['a fixture id with a suffix', '<chat>x'],
  ['a lone percent sign', '%'],
  ['a malformed percent escape', '%zz'],
  ['a truncated UTF-8 escape', '%E0%A4%A'],
  ['an encoded lone surrogate', '%ED%A0%80'],
  ['an overlong UTF-8 escape', '%C0%AF'],
  ['an encoded NUL', '%00'],
  ['bytes that are not UTF-8', '%FF%FE'],
  ['an emoji', '%F0%9F%98%80'],
  ['accented letters', 'ca%C3%B1%C3%B3n'],
  ['full-width digits', '%EF%BC%93fa85f64-5717-4562-b3fc-2c963f66afa6'],
  ['a 5,000-character id', 'x'.repeat(5000)],
  ['an SQL injection', encodeURIComponent("' OR 1=1 --")],
  ['a stacked SQL statement', encodeURIComponent("'; DROP TABLE chats; --")],
  ['an encoded path traversal', '..%2F..%2Fetc%2Fpasswd'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder, sent literally, is the attack
  ['a template injection', encodeURIComponent('${jndi:ldap://x}')],
  ['markup', encodeURIComponent('<script>alert(1)</script>')],
];

const ID_ROUTES: [string, (id: string) => string, string?][] = [
  ['GET', (id) => `/chats/${id}`],
  ['GET', (id) => `/chats/${id}/conversations`],
  ['PUT', (id) => `/chats/update/${id}`, JSON.stringify({ name: 'renamed' })],
  ['DELETE', (id) => `/chats/delete/${id}`],
  ['GET', (id) => `/conversations/inference/${id}`],
  ['GET', (id) => `/conversations/inference_internet/${id}`],
];

const idCases: HostileCase[] = ID_ROUTES.flatMap(([method, path, body]) =>
  BAD_IDS.map(([what, id]) => restCase(method, path(id), `id is ${what}`, body)),
);

/** Values of the wrong JSON type for any string field. */
const NOT_STRINGS: [string, string][] = [
  ['null', 'null'],
  ['a number', '42'],
  ['an overflowing number', '1e400'],
  ['a boolean', 'true'],
  ['an array', '["x"]'],
  ['an object', '{"toString":"x"}'],
];

/** Strings no chat name or message may be (written as JSON, escapes kept). */
const BAD_TEXTS: [string, string][] = [
  ['empty', '""'],
  ['white space only', '" \\t\\n "'],
  ['a NUL character', '"\\u0000"'],
  ['a NUL inside', '"a\\u0000b"'],
  ['a lone high surrogate', '"\\ud800"'],
  ['a lone low surrogate', '"\\udfff"'],
  ['a high surrogate at the end', '"abc\\ud83d"'],
  ['a reversed surrogate pair', '"\\ude00\\ud83d"'],
];

const createChatCases: HostileCase[] = [
  ...(
    [
      ['an empty body', ''],
      ['JSON null', 'null'],
      ['an empty array', '[]'],
      ['an array of the object', '[{"name":"x"}]'],
      ['a JSON string', '"name"'],
      ['a JSON number', '42'],
      ['JSON true', 'true'],
      ['an empty object', '{}'],
      ['an unclosed object', '{'],
      ['a missing value', '{"name":}'],
      ['an unterminated string', '{"name":"x'],
      ['trailing garbage', '{"name":"x"}}'],
      ['a trailing comma', '{"name":"x",}'],
      ['single quotes', "{'name':'x'}"],
      ['NaN', '{"name":NaN}'],
      ['Infinity', '{"name":Infinity}'],
      ['a form body', 'name=x'],
      ['a name of 201 characters', JSON.stringify({ name: 'n'.repeat(201) })],
      ['a name of 10,000 characters', JSON.stringify({ name: 'n'.repeat(10_000) })],
      ['a name of 201 emoji', JSON.stringify({ name: '😀'.repeat(201) })],
      ['a body over the size limit', JSON.stringify({ name: 'x'.repeat(TEST_BODY_LIMIT) })],
      ['a duplicate key ending with a NUL', '{"name":"ok","name":"\\u0000"}'],
      ['a duplicate key ending with a number', '{"name":"ok","name":42}'],
      ['__proto__ holding the name', '{"__proto__":{"name":"x"}}'],
      ['constructor.prototype holding the name', '{"constructor":{"prototype":{"name":"x"}}}'],
      ['an array nested 20,000 deep', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
      ['a name nested 10,000 deep', `{"name":${'['.repeat(10_000)}"x"${']'.repeat(10_000)}}`],
    ] as const
  ).map(([what, body]) => restCase('POST', '/chats/create', what, body)),
  ...NOT_STRINGS.map(([what, value]) => restCase('POST', '/chats/create', `name is ${what}`, `{"name":${value}}`)),
  ...BAD_TEXTS.map(([what, value]) => restCase('POST', '/chats/create', `name is ${what}`, `{"name":${value}}`)),
  ...(
    [
      ['no content type', undefined],
      ['text/plain', 'text/plain'],
      ['form encoding', 'application/x-www-form-urlencoded'],
      ['multipart', 'multipart/form-data; boundary=x'],
      ['a look-alike JSON type', 'application/jsonx'],
    ] as const
  ).map(([what, type]) => ({
    ...restCase('POST', '/chats/create', `content type is ${what}`),
    headers: type ? { 'content-type': type } : ({} as Record<string, string>),
    body: '{"name":"x"}',
  })),
];

/** `updated_at` values outside what PostgreSQL and the seed API's ISO-8601 can hold. */
const BAD_TIMESTAMPS: [string, string][] = [
  ['year 0', '"0000-01-01T00:00:00Z"'],
  ['the last instant of year 0', '"0000-12-31T23:59:59.999Z"'],
  ['a negative extended year', '"-000001-01-01T00:00:00Z"'],
  ['a positive extended year', '"+010000-01-01T00:00:00Z"'],
  ['year 10000', '"10000-01-01T00:00:00Z"'],
  ['year 1 at +01:00 (year 0 in UTC)', '"0001-01-01T00:00:00+01:00"'],
  ['year 9999 at -01:00 (year 10000 in UTC)', '"9999-12-31T23:59:59-01:00"'],
  ['February 30th', '"2023-02-30T00:00:00Z"'],
  ['month 13', '"2023-13-01T00:00:00Z"'],
  ['hour 24', '"2023-01-01T24:00:00Z"'],
  ['a leap second', '"2023-12-31T23:59:60Z"'],
  ['a date without a time', '"2023-01-01"'],
  ['an offset of +25:00', '"2023-01-01T00:00:00+25:00"'],
  ['a NUL before the zone', '"2023-01-01T00:00:00\\u0000Z"'],
  ['full-width digits', '"２０２３-01-01T00:00:00Z"'],
  ['a word', '"yesterday"'],
  ['an empty string', '""'],
  ['a number', '0'],
  ['a huge number', '1e20'],
  ['a negative number', '-1'],
  ['a boolean', 'true'],
  ['an object', '{}'],
  ['an array', '["2023-01-01T00:00:00Z"]'],
];

const updateChatCases: HostileCase[] = [
  ...BAD_TIMESTAMPS.map(([what, value]) =>
    restCase('PUT', '/chats/update/<chat>', `updated_at is ${what}`, `{"name":"renamed","updated_at":${value}}`),
  ),
  ...NOT_STRINGS.map(([what, value]) => restCase('PUT', '/chats/update/<chat>', `name is ${what}`, `{"name":${value}}`)),
  ...BAD_TEXTS.map(([what, value]) => restCase('PUT', '/chats/update/<chat>', `name is ${what}`, `{"name":${value}}`)),
  ...(
    [
      ['JSON null', 'null'],
      ['an array', '[{"name":"x"}]'],
      ['no name', '{"updated_at":"2023-01-01T00:00:00Z"}'],
      ['broken JSON', '{"name":'],
      ['an unknown chat with a NUL name', '{"name":"\\u0000"}'],
    ] as const
  ).map(([what, body]) => restCase('PUT', what.includes('unknown') ? `/chats/update/${UNKNOWN_ID}` : '/chats/update/<chat>', what, body)),
  {
    ...restCase('PUT', '/chats/update/<chat>', 'content type is text/plain'),
    headers: { 'content-type': 'text/plain' },
    body: '{"name":"x"}',
  },
];

const conversation = (fields: Record<string, string | undefined>) =>
  `{${Object.entries({ chat_id: '"<chat>"', role: '"Human"', message: '"hi"', ...fields })
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `"${key}":${value}`)
    .join(',')}}`;

const createConversationCases: HostileCase[] = [
  ...(
    [
      ['chat_id is missing', { chat_id: undefined }],
      ['chat_id is empty', { chat_id: '""' }],
      ['chat_id is not a UUID', { chat_id: '"not-a-uuid"' }],
      ['chat_id is an unknown UUID', { chat_id: `"${UNKNOWN_ID}"` }],
      ['chat_id is a conversation id', { chat_id: '"<human>"' }],
      ['chat_id has a trailing space', { chat_id: '"<chat> "' }],
      ['chat_id has a NUL', { chat_id: '"<chat>\\u0000"' }],
      ['chat_id is a UUID in braces', { chat_id: `"{${UNKNOWN_ID}}"` }],
      ['chat_id is an SQL injection', { chat_id: `"' OR 1=1 --"` }],
      ['role is missing', { role: undefined }],
      ['role is lower case', { role: '"human"' }],
      ['role is upper case', { role: '"HUMAN"' }],
      ['role is System', { role: '"System"' }],
      ['role has a trailing space', { role: '"Human "' }],
      ['role is empty', { role: '""' }],
      ['role is an operator object', { role: '{"$ne":null}' }],
      ['message is missing', { message: undefined }],
      ['message is 32,001 characters', { message: JSON.stringify('m'.repeat(32_001)) }],
      ['the chat is unknown and the message holds a NUL', { chat_id: `"${UNKNOWN_ID}"`, message: '"\\u0000"' }],
    ] as const
  ).map(([what, fields]) => restCase('POST', '/conversations/create', what, conversation(fields))),
  ...NOT_STRINGS.flatMap(([what, value]) => [
    restCase('POST', '/conversations/create', `chat_id is ${what}`, conversation({ chat_id: value })),
    restCase('POST', '/conversations/create', `role is ${what}`, conversation({ role: value })),
    restCase('POST', '/conversations/create', `message is ${what}`, conversation({ message: value })),
  ]),
  ...BAD_TEXTS.map(([what, value]) => restCase('POST', '/conversations/create', `message is ${what}`, conversation({ message: value }))),
  ...(
    [
      ['JSON null', 'null'],
      ['an array', `[${conversation({})}]`],
      ['a JSON string', '"hi"'],
      ['broken JSON', '{"chat_id":'],
    ] as const
  ).map(([what, body]) => restCase('POST', '/conversations/create', what, body)),
  { ...restCase('POST', '/conversations/create', 'no content type'), headers: {}, body: conversation({}) },
];

/** Resume positions and options the SSE routes must refuse before anything starts. */
const inferenceCases: HostileCase[] = ['inference', 'inference_internet'].flatMap((route) => [
  restCase('GET', `/conversations/${route}/<assistant>`, 'the id is an Assistant message'),
  restCase('GET', `/conversations/${route}/<empty-chat>`, 'the id is a chat without a Human message'),
  // (Leading and trailing white space is not hostile: HTTP drops it from header values.)
  ...['abc', '-1', '1.5', '1e3', '0x10', '+1', '9'.repeat(16), '9'.repeat(1000), '1,2'].map((value) =>
    restCase('GET', `/conversations/${route}/<human>`, `Last-Event-ID is ${label(value)}`, undefined, { 'last-event-id': value }),
  ),
  ...['abc', '-1', '%D9%A1', '%EF%BC%91', '%00', '1%00'].map((value) =>
    restCase('GET', `/conversations/${route}/<human>?lastEventId=${value}`, `lastEventId=${value}`),
  ),
  ...['yes', '1', 'TRUE', '', 'true&regenerate=false', '%00'].map((value) =>
    restCase('GET', `/conversations/${route}/<human>?regenerate=${value}`, `regenerate=${value}`),
  ),
  restCase('GET', `/conversations/${route}/<assistant>?regenerate=true`, 'regenerating an Assistant message'),
]);

const otherRestCases: HostileCase[] = [
  restCase('POST', '/chats/', 'a method the route does not have', '{"name":"x"}'),
  restCase('PATCH', '/chats/update/<chat>', 'PATCH instead of PUT', '{"name":"x"}'),
  restCase('POST', '/chats/delete/<chat>', 'POST instead of DELETE', '{}'),
  restCase('GET', '/chats/create', 'GET on the create route'),
  restCase('PUT', '/conversations/create', 'PUT instead of POST', conversation({})),
  restCase('POST', '/conversations/inference/<human>', 'POST on an SSE route', '{}'),
  restCase('GET', '/chats/<chat>/conversations/<human>', 'a path one segment too long'),
  restCase('GET', '/conversations/inference/', 'an SSE route without an id'),
];

/** A GraphQL POST of `query` (and variables) asking for the GraphQL-over-HTTP response type. */
const gqlCase = (what: string, query: string, variables?: Record<string, unknown>): HostileCase => ({
  name: `GraphQL: ${what}`,
  method: 'POST',
  path: '/graphql',
  headers: GRAPHQL_RESPONSE,
  body: JSON.stringify({ query, variables }),
});

/** The same, with a body written by hand (escapes and broken JSON kept). */
const gqlRawCase = (what: string, body: string, headers: Record<string, string> = GRAPHQL_RESPONSE): HostileCase => ({
  name: `GraphQL: ${what}`,
  method: 'POST',
  path: '/graphql',
  headers,
  body,
});

const gqlGetCase = (what: string, params: Record<string, string>, method = 'GET'): HostileCase => ({
  name: `GraphQL GET: ${what}`,
  method,
  path: `/graphql?${new URLSearchParams(params)}`,
  headers: { accept: 'application/graphql-response+json' },
});

/** A subscription as graphql-sse clients send it (distinct connections mode: the result is an event stream). */
const subscriptionCase = (what: string, query: string, variables?: Record<string, unknown>, path = '/graphql'): HostileCase => ({
  name: `GraphQL subscription (${path}): ${what}`,
  method: 'POST',
  path,
  headers: EVENT_STREAM,
  body: JSON.stringify({ query, variables }),
});

const CHATS_PAGE = '{ edges { cursor node { id } } pageInfo { hasNextPage } }';

const cursor = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Cursors that are not one of ours: every connection pages by UUID, as `GPC:S:<uuid>` in base64. */
const BAD_CURSORS: [string, string][] = [
  ['GPC:S:not-a-uuid', cursor('GPC:S:not-a-uuid')],
  ['GPC:S: (empty)', cursor('GPC:S:')],
  ['GPC:S:<uuid>x', cursor(`GPC:S:${UNKNOWN_ID}x`)],
  ['GPC:S:<uuid> with a NUL', cursor(`GPC:S:${UNKNOWN_ID}\u0000`)],
  ['GPC:S:<uuid> in braces', cursor(`GPC:S:{${UNKNOWN_ID}}`)],
  ['GPC:S: an SQL injection', cursor("GPC:S:' OR 1=1 --")],
  ['GPC:N:5', cursor('GPC:N:5')],
  ['GPC:N:NaN', cursor('GPC:N:NaN')],
  ['GPC:D:abc', cursor('GPC:D:abc')],
  ['GPC:D:0', cursor('GPC:D:0')],
  ['GPC:I:1', cursor('GPC:I:1')],
  ['GPC:I:x', cursor('GPC:I:x')],
  ['GPC:O:{}', cursor('GPC:O:{}')],
  ['GPC:O:true', cursor('GPC:O:true')],
  ['GPC:O: broken JSON', cursor('GPC:O:{')],
  ['GPC:Z: (null)', cursor('GPC:Z:')],
  ['GPC:T: a tuple', cursor('GPC:T:["S:x"]')],
  ['GPC:J: an array', cursor('GPC:J:[1]')],
  ['GPC:B: bytes', cursor('GPC:B:AAAA')],
  ['GPC:M: a decimal', cursor('GPC:M:1.5')],
  ['GPC:X: an unknown tag', cursor('GPC:X:1')],
  ['GPC: alone', cursor('GPC:')],
  ['a plain UUID, not encoded', UNKNOWN_ID],
  ['base64 of a bare UUID', cursor(UNKNOWN_ID)],
  ['base64 of text', cursor('hello')],
  ['not base64', 'garbage!!'],
  ['an empty string', ''],
  ['an emoji', '😀'],
  ['10,000 characters', 'A'.repeat(10_000)],
];

/** Where a cursor can go: the root connection and the nested one, as a literal and through a variable. */
const CURSOR_PLACES: [string, (cursor: string) => [string, Record<string, unknown>?]][] = [
  ['chats(after) literal', (c) => [`{ chats(after: ${JSON.stringify(c)}) ${CHATS_PAGE} }`]],
  ['chats(after) variable', (c) => [`query($after: String) { chats(after: $after) ${CHATS_PAGE} }`, { after: c }]],
  ['chat.conversations(after) literal', (c) => [`{ chat(id: "<chat>") { conversations(after: ${JSON.stringify(c)}) ${CHATS_PAGE} } }`]],
  [
    'chats.conversations(after) variable',
    (c) => [`query($after: String) { chats { edges { node { conversations(after: $after) ${CHATS_PAGE} } } } }`, { after: c }],
  ],
];

const cursorCases: HostileCase[] = [
  ...CURSOR_PLACES.flatMap(([place, build]) => BAD_CURSORS.map(([what, value]) => gqlCase(`${place}: cursor ${what}`, ...build(value)))),
  ...BAD_CURSORS.slice(0, 8).flatMap(([what, value]) => [
    gqlCase(`chats(before) literal: cursor ${what}`, `{ chats(before: ${JSON.stringify(value)}, last: 1) ${CHATS_PAGE} }`),
    gqlCase(
      `chat.conversations(before) variable: cursor ${what}`,
      `query($before: String) { chat(id: "<chat>") { conversations(before: $before) ${CHATS_PAGE} } }`,
      { before: value },
    ),
  ]),
];

const pageSizeCases: HostileCase[] = [
  ...(['chats', 'chat(id: "<chat>") { conversations'] as const).flatMap((field) => {
    const close = field.startsWith('chat(') ? ' }' : '';
    const query = (args: string) => `{ ${field}(${args}) ${CHATS_PAGE}${close} }`;
    return [
      gqlCase(`${field}: first -1`, query('first: -1')),
      gqlCase(`${field}: last -1`, query('last: -1')),
      gqlCase(`${field}: first -2147483648`, query('first: -2147483648')),
      gqlCase(`${field}: first 2147483648`, query('first: 2147483648')),
      gqlCase(`${field}: first 1e308`, query('first: 1e308')),
      gqlCase(`${field}: first 1.5`, query('first: 1.5')),
      gqlCase(`${field}: first "1"`, query('first: "1"')),
      gqlCase(`${field}: first NaN`, query('first: NaN')),
      gqlCase(`${field}: first and last`, query('first: 1, last: 1')),
      gqlCase(`${field}: after and before`, query(`after: "${cursor(`GPC:S:${UNKNOWN_ID}`)}", before: "${cursor(`GPC:S:${UNKNOWN_ID}`)}"`)),
      gqlCase(`${field}: after a number`, query('after: 42')),
      gqlCase(`${field}: after a list`, query('after: ["x"]')),
    ];
  }),
  gqlCase('chats: first -1 through a variable', `query($first: Int) { chats(first: $first) ${CHATS_PAGE} }`, { first: -1 }),
  gqlCase('chats: first NaN through a variable', `query($first: Int) { chats(first: $first) ${CHATS_PAGE} }`, { first: 'NaN' }),
  gqlCase('chats: first 1e20 through a variable', `query($first: Int) { chats(first: $first) ${CHATS_PAGE} }`, { first: 1e20 }),
  gqlCase('chats: first and last through variables', `query($first: Int, $last: Int) { chats(first: $first, last: $last) ${CHATS_PAGE} }`, {
    first: 2,
    last: 2,
  }),
];

const ID_ARGUMENT_VALUES: [string, string][] = [
  ['null', 'null'],
  ['a boolean', 'true'],
  ['a float', '1.5'],
  ['an object', '{ id: "x" }'],
  ['a list', '["<chat>"]'],
];

const queryCases: HostileCase[] = [
  ...(['chat', 'conversation'] as const).flatMap((field) => [
    ...ID_ARGUMENT_VALUES.map(([what, value]) => gqlCase(`${field}(id) is ${what}`, `{ ${field}(id: ${value}) { id } }`)),
    gqlCase(`${field} without an id`, `{ ${field} { id } }`),
    gqlCase(`${field}(id) is an object through a variable`, `query($id: ID!) { ${field}(id: $id) { id } }`, { id: { x: 1 } }),
    gqlCase(`${field}(id) is missing from the variables`, `query($id: ID!) { ${field}(id: $id) { id } }`, {}),
  ]),
];

const mutationCases: HostileCase[] = [
  ...BAD_TEXTS.flatMap(([what, value]) => [
    gqlCase(`createChat: name is ${what}`, 'mutation($name: String!) { createChat(name: $name) { id } }', { name: JSON.parse(value) }),
    gqlCase(
      `createConversation: message is ${what}`,
      'mutation($message: String!) { createConversation(chatId: "<chat>", role: Human, message: $message) { id } }',
      { message: JSON.parse(value) },
    ),
    gqlCase(`updateChat: name is ${what}`, 'mutation($name: String!) { updateChat(id: "<chat>", name: $name) { id } }', {
      name: JSON.parse(value),
    }),
  ]),
  gqlCase('createChat: name with a NUL escape in the literal', 'mutation { createChat(name: "a\\u0000b") { id } }'),
  gqlCase('createChat: name with a lone surrogate escape in the literal', 'mutation { createChat(name: "\\uD800") { id } }'),
  gqlCase('createChat: name of 201 characters', 'mutation($name: String!) { createChat(name: $name) { id } }', { name: 'n'.repeat(201) }),
  gqlCase('createChat: name is a number', 'mutation { createChat(name: 42) { id } }'),
  gqlCase('createChat: name is null', 'mutation { createChat(name: null) { id } }'),
  gqlCase('createChat: no name', 'mutation { createChat { id } }'),
  gqlCase('createChat: name is a list through a variable', 'mutation($name: String!) { createChat(name: $name) { id } }', { name: ['x'] }),
  ...BAD_TIMESTAMPS.filter(([, value]) => value.startsWith('"')).flatMap(([what, value]) => [
    gqlCase(`updateChat: updatedAt is ${what}`, `mutation { updateChat(id: "<chat>", name: "renamed", updatedAt: ${value}) { id } }`),
    gqlCase(
      `updateChat: updatedAt is ${what} through a variable`,
      'mutation($at: DateTime) { updateChat(id: "<chat>", name: "renamed", updatedAt: $at) { id } }',
      { at: JSON.parse(value) },
    ),
  ]),
  ...['0', '1e20', '-1', 'true', '{}'].map((value) =>
    gqlCase(
      `updateChat: updatedAt is ${value} through a variable`,
      'mutation($at: DateTime) { updateChat(id: "<chat>", name: "renamed", updatedAt: $at) { id } }',
      { at: JSON.parse(value) },
    ),
  ),
  gqlCase('updateChat: unknown id', `mutation { updateChat(id: "${UNKNOWN_ID}", name: "x") { id } }`),
  gqlCase('updateChat: malformed id', 'mutation { updateChat(id: "not-a-uuid", name: "x") { id } }'),
  gqlCase('deleteChat: unknown id', `mutation { deleteChat(id: "${UNKNOWN_ID}") { id } }`),
  gqlCase('deleteChat: malformed id', 'mutation { deleteChat(id: "not-a-uuid") { id } }'),
  gqlCase('deleteChat: id with a NUL', 'mutation { deleteChat(id: "<chat>\\u0000") { id } }'),
  gqlCase('deleteChat: null id', 'mutation { deleteChat(id: null) { id } }'),
  gqlCase('createConversation: chatId is malformed', 'mutation { createConversation(chatId: "nope", role: Human, message: "hi") { id } }'),
  gqlCase(
    'createConversation: chatId is unknown',
    `mutation { createConversation(chatId: "${UNKNOWN_ID}", role: Human, message: "hi") { id } }`,
  ),
  gqlCase(
    'createConversation: chatId is a conversation',
    'mutation { createConversation(chatId: "<human>", role: Human, message: "hi") { id } }',
  ),
  gqlCase('createConversation: role System', 'mutation { createConversation(chatId: "<chat>", role: System, message: "hi") { id } }'),
  gqlCase('createConversation: role as a string', 'mutation { createConversation(chatId: "<chat>", role: "Human", message: "hi") { id } }'),
  gqlCase(
    'createConversation: role lower case through a variable',
    'mutation($role: Role!) { createConversation(chatId: "<chat>", role: $role, message: "hi") { id } }',
    { role: 'human' },
  ),
  gqlCase(
    'createConversation: message of 32,001 characters',
    'mutation($message: String!) { createConversation(chatId: "<chat>", role: Human, message: $message) { id } }',
    { message: 'm'.repeat(32_001) },
  ),
];

const subscriptionCases: HostileCase[] = [
  ...(['/graphql', '/graphql/stream'] as const).flatMap((path) => [
    subscriptionCase('inference of a malformed id', 'subscription { inference(conversationId: "x") { __typename } }', undefined, path),
    subscriptionCase(
      `inference of an unknown id`,
      `subscription { inference(conversationId: "${UNKNOWN_ID}") { __typename } }`,
      undefined,
      path,
    ),
    subscriptionCase(
      'inference of an Assistant message',
      'subscription { inference(conversationId: "<assistant>") { __typename } }',
      undefined,
      path,
    ),
    subscriptionCase(
      'inference of a chat without a question',
      'subscription { inference(conversationId: "<empty-chat>") { __typename } }',
      undefined,
      path,
    ),
    subscriptionCase(
      'internet inference of an Assistant message',
      'subscription { inference(conversationId: "<assistant>", internet: true) { __typename } }',
      undefined,
      path,
    ),
    subscriptionCase('chatEvents of a malformed chat id', 'subscription { chatEvents(chatId: "not-a-uuid") { type } }', undefined, path),
  ]),
  subscriptionCase(
    'inference with internet "yes"',
    'subscription { inference(conversationId: "<human>", internet: "yes") { __typename } }',
  ),
  subscriptionCase('inference with regenerate 1', 'subscription { inference(conversationId: "<human>", regenerate: 1) { __typename } }'),
  subscriptionCase('inference without an id', 'subscription { inference { __typename } }'),
  subscriptionCase('inference with a null id', 'subscription { inference(conversationId: null) { __typename } }'),
  subscriptionCase('inference of an id with a NUL', 'subscription { inference(conversationId: "<human>\\u0000") { __typename } }'),
  subscriptionCase(
    'inference of an object through a variable',
    'subscription($id: ID!) { inference(conversationId: $id) { __typename } }',
    {
      id: { x: 1 },
    },
  ),
  subscriptionCase('inference of a number id', 'subscription { inference(conversationId: 42) { __typename } }'),
  subscriptionCase('chatEvents of a number chat id', 'subscription { chatEvents(chatId: 42) { type } }'),
  subscriptionCase('chatEvents of a chat id with a NUL', 'subscription($id: ID) { chatEvents(chatId: $id) { type } }', {
    id: '<chat>\u0000',
  }),
  subscriptionCase('a syntax error', 'subscription {'),
  subscriptionCase('an unknown field', 'subscription { nothing }'),
  subscriptionCase('two root fields', 'subscription { chatEvents { type } inference(conversationId: "<human>") { __typename } }'),
  subscriptionCase(
    'a chat event with a bad nested cursor',
    `subscription { chatEvents { chat { conversations(after: "${cursor('GPC:N:5')}") ${CHATS_PAGE} } } }`,
  ),
  subscriptionCase('a syntax error', 'subscription {', undefined, '/graphql/stream'),
  subscriptionCase('an unknown field', 'subscription { nothing }', undefined, '/graphql/stream'),
  gqlCase('inference sent for a plain JSON answer', 'subscription { inference(conversationId: "x") { __typename } }'),
];

/** graphql-sse's own protocol on /graphql/stream: reservations, tokens, operation ids. */
const STREAM_TOKEN = 'x-graphql-event-stream-token';
const streamProtocolCases: HostileCase[] = [
  {
    name: 'graphql-sse: an operation for a stream token never reserved',
    method: 'POST',
    path: '/graphql/stream',
    headers: { ...JSON_TYPE, [STREAM_TOKEN]: 'no-such-token' },
    body: JSON.stringify({ query: 'subscription { chatEvents { type } }', extensions: { operationId: '1' } }),
  },
  {
    name: 'graphql-sse: stopping an operation of a stream never reserved',
    method: 'DELETE',
    path: '/graphql/stream?operationId=1',
    headers: { [STREAM_TOKEN]: 'no-such-token' },
  },
  { name: 'graphql-sse: stopping an operation without a stream token', method: 'DELETE', path: '/graphql/stream?operationId=1' },
  { name: 'graphql-sse: GET without a query', method: 'GET', path: '/graphql/stream', headers: { accept: 'text/event-stream' } },
  {
    name: 'graphql-sse: GET with broken JSON variables',
    method: 'GET',
    path: `/graphql/stream?${new URLSearchParams({ query: 'subscription { chatEvents { type } }', variables: '{' })}`,
    headers: { accept: 'text/event-stream' },
  },
  { name: 'graphql-sse: broken JSON', method: 'POST', path: '/graphql/stream', headers: EVENT_STREAM, body: '{"query":' },
  { name: 'graphql-sse: JSON null', method: 'POST', path: '/graphql/stream', headers: EVENT_STREAM, body: 'null' },
  { name: 'graphql-sse: no query', method: 'POST', path: '/graphql/stream', headers: EVENT_STREAM, body: '{}' },
];

const transportCases: HostileCase[] = [
  ...(
    [
      ['JSON null', 'null'],
      ['an empty array', '[]'],
      ['a JSON string', '"{ chats { edges { cursor } } }"'],
      ['a JSON number', '42'],
      ['an empty object', '{}'],
      ['broken JSON', '{"query":'],
      ['an empty body', ''],
      ['query null', '{"query":null}'],
      ['query a number', '{"query":42}'],
      ['query an object', '{"query":{}}'],
      ['query empty', '{"query":""}'],
      ['a syntax error', '{"query":"{"}'],
      ['an unknown field', '{"query":"{ nothing }"}'],
      ['an unknown sub-field', '{"query":"{ chats { nothing } }"}'],
      ['variables a string', '{"query":"{ __typename }","variables":"x"}'],
      ['variables a list', '{"query":"{ __typename }","variables":[1]}'],
      ['variables a number', '{"query":"{ __typename }","variables":1}'],
      ['extensions a string', '{"query":"{ __typename }","extensions":"x"}'],
      ['extensions a list', '{"query":"{ __typename }","extensions":[]}'],
      ['operationName a number', '{"query":"{ __typename }","operationName":42}'],
      ['an unknown operationName', '{"query":"query A { __typename }","operationName":"B"}'],
      ['two operations and no operationName', '{"query":"query A { __typename } query B { __typename }"}'],
      ['a NUL in the document', '{"query":"{ chats\\u0000 { pageInfo { hasNextPage } } }"}'],
      ['a lone surrogate in the document', '{"query":"{ chat(id: \\"\\ud800\\") { id } }"}'],
      ['a lone surrogate escape in a literal', '{"query":"{ chat(id: \\"\\\\uD800\\") { id } }"}'],
      ['a body over the size limit', JSON.stringify({ query: `{ __typename }${' '.repeat(TEST_BODY_LIMIT)}` })],
      [
        'a variable nested 20,000 deep',
        `{"query":"query($after: String) { chats(after: $after) { pageInfo { hasNextPage } } }","variables":{"after":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
      ],
    ] as const
  ).map(([what, body]) => gqlRawCase(what, body)),
  gqlRawCase('form-encoded with broken variables', 'query=%7B__typename%7D&variables=%7B', {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/graphql-response+json',
  }),
  gqlRawCase('form-encoded with broken extensions', 'query=%7B__typename%7D&extensions=nope', {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/graphql-response+json',
  }),
  gqlGetCase('no query', {}),
  gqlGetCase('an empty query', { query: '' }),
  gqlGetCase('a syntax error', { query: '{' }),
  gqlGetCase('broken JSON variables', { query: '{ __typename }', variables: '{' }),
  gqlGetCase('variables not JSON', { query: '{ __typename }', variables: 'nope' }),
  gqlGetCase('variables a list', { query: '{ __typename }', variables: '[1]' }),
  gqlGetCase('variables a string', { query: '{ __typename }', variables: '"x"' }),
  gqlGetCase('a cursor variable with a lone surrogate', {
    query: `query($after: String) { chats(after: $after) ${CHATS_PAGE} }`,
    variables: '{"after":"\\ud800"}',
  }),
  gqlGetCase('broken JSON extensions', { query: '{ __typename }', extensions: '{' }),
  gqlGetCase('extensions not JSON', { query: '{ __typename }', extensions: 'nope' }),
  gqlGetCase('extensions a list', { query: '{ __typename }', extensions: '[]' }),
  gqlGetCase('a cursor variable not one of ours', {
    query: `query($after: String) { chats(after: $after) ${CHATS_PAGE} }`,
    variables: `{"after":"${cursor('GPC:N:5')}"}`,
  }),
  gqlGetCase('a mutation', { query: 'mutation { createChat(name: "x") { id } }' }),
  {
    name: 'GraphQL GET: a malformed percent escape in the query',
    method: 'GET',
    path: '/graphql?query=%7B%zz%7D',
    headers: { accept: 'application/graphql-response+json' },
  },
  {
    name: 'GraphQL GET: a malformed percent escape in the variables',
    method: 'GET',
    path: '/graphql?query=%7B__typename%7D&variables=%7B%22a%22:%zz%7D',
    headers: { accept: 'application/graphql-response+json' },
  },
];

const HOSTILE_CORPUS: HostileCase[] = [
  ...idCases,
  ...createChatCases,
  ...updateChatCases,
  ...createConversationCases,
  ...inferenceCases,
  ...otherRestCases,
  ...cursorCases,
  ...pageSizeCases,
  ...queryCases,
  ...mutationCases,
  ...subscriptionCases,
  ...streamProtocolCases,
  ...transportCases,
];

// ---------------------------------------------------------------------------------------------
// What every answer must be
// ---------------------------------------------------------------------------------------------

/** Internals no answer may show: stack frames, file paths, SQL, the database, hosts, secrets. */
const LEAKS: RegExp[] = [
  /at .*\(.*:\d+:\d+\)/,
  /\.(?:ts|js|mjs|cjs):\d+/,
  /\/work\//,
  /node_modules/,
  /\/(?:home|usr|opt|var|tmp|srv)\//,
  /\b(?:SELECT|INSERT|UPDATE|DELETE)\b.*\b(?:FROM|INTO|SET)\b/i,
  /prisma/i,
  /postgres|pglite/i,
  /\b(?:22|23|42|53|57|58|XX)[0-9A-Z]{3}\b/,
  /\b\d{1,3}(?:\.\d{1,3}){3}\b/,
  /localhost|\.internal\b/i,
  /\b(?:Type|Range|Reference)Error\b/,
  /hf_[A-Za-z0-9]{6,}|api_key=/i,
];

/** Codes of refusals: the domain's 4xx codes and Yoga's for requests that are no valid GraphQL. */
const CLIENT_ERROR_CODES = new Set([
  ...Object.entries(ERROR_STATUS)
    .filter(([, status]) => status >= 400 && status < 500)
    .map(([code]) => code),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Generous: only proves that a refused subscription ends instead of streaming forever. */
const STREAM_END_MS = 10_000;

async function bodyText(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const hang = new Promise<'hang'>((resolve) => setTimeout(resolve, STREAM_END_MS, 'hang').unref());
  for (;;) {
    const next = await Promise.race([reader.read(), hang]);
    if (next === 'hang') {
      await reader.cancel();
      throw new Error(`the response did not end within ${STREAM_END_MS} ms: ${text.slice(0, 200)}`);
    }
    if (next.done) return text;
    text += next.value;
  }
}

/** The GraphQL results of a graphql-sse event stream (`event: next`), which must end with `complete`. */
function streamResults(text: string): unknown[] {
  const events = text.split('\n\n').filter((block) => block.includes('event:'));
  expect(events.at(-1), 'the stream ends with complete').toMatch(/^event: complete/m);
  return events.filter((block) => /^event: next/m.test(block)).map((block) => JSON.parse(block.replace(/^[\s\S]*?^data: /m, '')));
}

interface GraphQLResultJson {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

/** A refusal in GraphQL terms: errors with client-error codes and no data, whatever the transport. */
function expectGraphQLRefusal(result: GraphQLResultJson) {
  expect(result.data ?? null, 'no data').toBeNull();
  expect(result.errors?.length, 'errors').toBeGreaterThan(0);
  for (const error of result.errors!) {
    expect(error.message).toEqual(expect.any(String));
    expect(CLIENT_ERROR_CODES, `code of "${error.message}"`).toContain(error.extensions?.code);
  }
}

/**
 * REST: the status's `{"detail","code"}`. GraphQL over HTTP (application/graphql-response+json): a
 * 4xx with errors, or the 200 with `data: null` the spec prescribes when a field, not the request,
 * failed (a subscription refused when it starts). graphql-sse: a 200 event stream whose only result
 * is the refusal, then `complete`.
 */
async function expectRefused(hostile: HostileCase, response: Response) {
  const text = await bodyText(response);
  for (const leak of LEAKS) expect(text, `leaks ${leak}`).not.toMatch(leak);
  const type = response.headers.get('content-type') ?? '';
  // The HTTP layer's refusals (a body over the limit) come before GraphQL, in the REST shape, on /graphql too.
  if (!hostile.path.startsWith('/graphql') || /^\{"detail"/.test(text)) {
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(type).toMatch(/^application\/json/);
    const body = JSON.parse(text);
    expect(body).toEqual({ detail: expect.any(String), code: expect.any(String) });
    expect(ERROR_STATUS[body.code as keyof typeof ERROR_STATUS], `status of ${body.code}`).toBe(response.status);
    return;
  }
  if (type.startsWith('text/event-stream')) {
    expect(response.status).toBe(200);
    const results = streamResults(text);
    expect(results).toHaveLength(1);
    expectGraphQLRefusal(results[0] as GraphQLResultJson);
    return;
  }
  expect(type).toMatch(/^application\/(graphql-response\+)?json/);
  const result = JSON.parse(text) as GraphQLResultJson;
  expectGraphQLRefusal(result);
  if (response.status === 200) expect(result, 'a 200 carries data: null').toHaveProperty('data', null);
  else expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/**
 * The corpus runs in both auth modes: anonymous (the default, no credential) and AUTH=required with an
 * API key, whose owner's chats are the fixtures. Each mode has its own gateway and database.
 */
const AUTH_MODES = [
  { mode: 'anonymous', env: {} as Record<string, string> },
  { mode: 'AUTH=required, API key', env: { AUTH: 'required', ADMIN_API_KEY: 'corpus-admin-key-0123456789abcdefghijkl' } },
];

describe.each(AUTH_MODES)('hostile input ($mode)', ({ env }) => {
  let tgi: TgiStandin;
  let app: TestApp;
  let ids: FixtureIds;
  let headers: Record<string, string> = {};

  beforeAll(async () => {
    // A model server and a search key, so that inference routes get past "not configured" (503) and
    // any request that wrongly started a generation would show in the stand-in's log and the store.
    tgi = await startTgiStandin({ keepAliveMs: 0 });
    app = await createTestApp({ ...env, TGI_URL: tgi.url, SERPAPI_API_KEY: 'test-key', SERPAPI_BASE_URL: 'https://127.0.0.1:9' });
    let caller = TEST_CALLER;
    if (env.AUTH === 'required') {
      const { key } = await app.services.apiKeys.create({ owner: 'corpus', admin: false });
      headers = bearer(key);
      caller = ownerCaller('corpus', false);
    }
    const { chats, conversations } = app.services;
    const chat = await chats.create(caller, { name: 'fixture' });
    const human = await conversations.create(caller, { chatId: chat.id, role: 'Human', message: 'What lives in the sea?' });
    const assistant = await conversations.create(caller, { chatId: chat.id, role: 'Assistant', message: 'Fish.' });
    const emptyChat = await chats.create(caller, { name: 'no messages' });
    ids = { chat: chat.id, human: human.id, assistant: assistant.id, 'empty-chat': emptyChat.id };
  });

  afterAll(async () => {
    await app?.close();
    await tgi?.close();
  });

  /** Every stored row (the fixture is four): a hostile request must change none of them. */
  async function storeSnapshot() {
    const { prisma } = app.database;
    const [chats, conversations] = await Promise.all([
      prisma.chat.findMany({ orderBy: { id: 'asc' } }),
      prisma.conversation.findMany({ orderBy: { id: 'asc' } }),
    ]);
    return { chats, conversations };
  }

  it('the corpus has at least 300 requests, covering every route and root field', () => {
    expect(HOSTILE_CORPUS.length).toBeGreaterThanOrEqual(300);
    const requests = HOSTILE_CORPUS.map((hostile) => `${hostile.method} ${hostile.path} ${hostile.body ?? ''}`).join('\n');
    const routes = [
      'POST /chats/ ',
      'GET /chats/<',
      '/conversations ',
      'POST /chats/create',
      'PUT /chats/update/',
      'DELETE /chats/delete/',
    ];
    routes.push('POST /conversations/create', 'GET /conversations/inference/', 'GET /conversations/inference_internet/');
    const fields = [
      'chats(',
      'chat(',
      'conversation(',
      'createChat',
      'updateChat',
      'deleteChat',
      'createConversation',
      'inference(',
      'chatEvents(',
    ];
    for (const part of [...routes, ...fields]) expect(requests).toContain(part);
  });

  it.each(HOSTILE_CORPUS.map((hostile) => [hostile.name, hostile] as const))('%s', async (_name, hostile) => {
    const before = await storeSnapshot();
    await expectRefused(hostile, await app.fetch(hostileRequest(hostile, ids, headers)));
    expect(await storeSnapshot(), 'nothing stored').toEqual(before);
  });

  it('leaves the gateway healthy, with no generation started', async () => {
    expect((await app.request('/healthz')).status).toBe(200);
    expect(tgi.requests).toHaveLength(0);
  });
});

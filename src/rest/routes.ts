import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Services } from '../domain.ts';
import { ERROR_STATUS, type ErrorCode, notFound, validationFailed } from '../errors.ts';
import type { AppEnv } from '../http/env.ts';
import { requireJsonBody } from '../http/json-body.ts';
import { ChatId, ChatName, Message, RoleInput, TimestampString } from '../services/inputs.ts';
import { ChatJson, ConversationJson, chatJson, conversationJson, errorJson } from './representation.ts';
import { SSE_HEADERS, type SseTiming, sseResponse } from './sse.ts';

/**
 * The legacy REST API of ../shared/seed-api.md, route for route, as a thin shell over the same
 * services GraphQL resolves with. Bodies are validated with the services' own rules; the OpenAPI
 * description at /openapi.json is generated from this table.
 */
export function legacyRoutes(services: Services, sse: SseTiming): OpenAPIHono<AppEnv> {
  const rest = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationFailed(result.error);
    },
  });

  // The routes that read a body take JSON only (a stop request has none: `curl -X POST` sends no type).
  for (const path of ['/chats/create', '/chats/update/*', '/conversations/create']) rest.use(path, requireJsonBody(['POST', 'PUT']));

  const allChats = async (c: Context<AppEnv>) => c.json((await services.chats.list(c.get('caller'))).map(chatJson), 200);
  rest.openapi(listChats, allChats);
  rest.get('/chats', allChats); // the seed documents `/chats/`; clients also call it without the slash

  rest.openapi(getChat, async (c) => c.json(chatJson(await services.chats.get(c.get('caller'), c.req.valid('param').id)), 200));

  rest.openapi(listConversations, async (c) => {
    const conversations = await services.conversations.listByChat(c.get('caller'), c.req.valid('param').id);
    return c.json(conversations.map(conversationJson), 200);
  });

  rest.openapi(getConversation, async (c) => {
    const id = c.req.valid('param').id;
    const conversation = await services.conversations.find(c.get('caller'), id);
    if (!conversation) throw notFound('Conversation', id);
    return c.json(conversationJson(conversation), 200);
  });

  rest.openapi(createChat, async (c) => {
    const chat = await services.chats.create(c.get('caller'), c.req.valid('json'));
    return c.json(chatJson(chat), 201, { location: `/chats/${chat.id}` });
  });

  rest.openapi(updateChat, async (c) => {
    const { name, updated_at: updatedAt } = c.req.valid('json');
    return c.json(chatJson(await services.chats.update(c.get('caller'), c.req.valid('param').id, { name, updatedAt })), 200);
  });

  rest.openapi(deleteChat, async (c) => c.json(chatJson(await services.chats.delete(c.get('caller'), c.req.valid('param').id)), 200));

  rest.openapi(createConversation, async (c) => {
    const { chat_id: chatId, role, message } = c.req.valid('json');
    const conversation = await services.conversations.create(c.get('caller'), { chatId, role, message });
    return c.json(conversationJson(conversation), 201, { location: `/conversations/${conversation.id}` });
  });

  /** One handler for both inference routes; the query was validated by the route's own schema. */
  const streamAnswer = async (
    c: Context<AppEnv>,
    id: string,
    query: z.output<typeof InferenceQuery>,
    lastEventId: string | undefined,
    internet: boolean,
  ): Promise<Response> => {
    // HEAD (link previewers, uptime probes) gets the stream's headers and nothing else: no lookup,
    // and above all no paid generation (Hono answers HEAD with the GET handler, body dropped).
    if (c.req.method === 'HEAD') return new Response(null, { headers: SSE_HEADERS });
    const events = await services.replies.open(id, {
      caller: c.get('caller'),
      internet,
      regenerate: query.regenerate,
      lastEventId: lastEventId ?? query.lastEventId,
    });
    // 204 tells an EventSource that reconnected after the final event to stop reconnecting.
    if (!events) return c.body(null, 204);
    return sseResponse(events, sse);
  };
  rest.openapi(inference, (c) =>
    streamAnswer(c, c.req.valid('param').id, c.req.valid('query'), c.req.valid('header')['last-event-id'], false),
  );
  rest.openapi(inferenceInternet, (c) =>
    streamAnswer(c, c.req.valid('param').id, c.req.valid('query'), c.req.valid('header')['last-event-id'], true),
  );

  rest.openapi(stopGeneration, async (c) => {
    const stored = await services.replies.stop(c.req.valid('param').id, {
      caller: c.get('caller'),
      internet: c.req.valid('query').internet,
    });
    return c.json(stored && conversationJson(stored), 200);
  });

  return rest;
}

const IdParam = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '3fa85f64-5717-4562-b3fc-2c963f66afa6' }),
});

const json = <Schema extends z.ZodType>(schema: Schema, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** The error response of `code`, with its status: `{ 404: … }`. */
const error = <Code extends ErrorCode>(code: Code, description: string) =>
  ({ [ERROR_STATUS[code]]: json(errorJson(code), description) }) as Record<(typeof ERROR_STATUS)[Code], ReturnType<typeof json>>;

const header = (description: string) => ({ schema: { type: 'string' as const }, description });

/** What every route can answer: a refused credential, a client over its limits, a database that does not answer. */
const unauthenticated = {
  401: {
    ...json(errorJson('UNAUTHENTICATED'), 'The credential is not valid, or AUTH=required and none was sent'),
    headers: { 'WWW-Authenticate': header('`Bearer realm="chat-gateway"`') },
  },
  429: {
    ...json(errorJson('RATE_LIMITED'), "A limit of the caller's is reached: the detail names it and says when to retry"),
    headers: {
      'Retry-After': header('Seconds to wait'),
      'RateLimit-Limit': header('The limit that was reached'),
      'RateLimit-Remaining': header('What is left of it'),
      'RateLimit-Reset': header('Seconds until its window ends'),
    },
  },
  503: {
    ...json(errorJson('DATABASE_UNAVAILABLE'), 'The database did not answer in time; retry after Retry-After'),
    headers: { 'Retry-After': header('Seconds to wait') },
  },
};

/** What any route with a JSON body can answer besides its own errors. */
const bodyErrors = {
  ...error('BAD_REQUEST', 'Malformed JSON body'),
  ...error('PAYLOAD_TOO_LARGE', 'Body larger than the configured limit'),
  ...error('UNSUPPORTED_MEDIA_TYPE', 'Body is not JSON'),
  ...error('VALIDATION_FAILED', 'A field is missing, of the wrong type or out of bounds'),
};

const created = <Schema extends z.ZodType>(schema: Schema, description: string, location: string) => ({
  201: {
    ...json(schema, description),
    headers: { Location: { schema: { type: 'string' as const }, description: location } },
  },
});

const jsonBody = <Schema extends z.ZodType>(schema: Schema) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});

const listChats = createRoute({
  method: 'get',
  path: '/chats/',
  operationId: 'listChats',
  tags: ['chats'],
  summary: 'List chats, most recently updated first',
  responses: { 200: json(z.array(ChatJson), 'All chats'), ...unauthenticated },
});

const getChat = createRoute({
  method: 'get',
  path: '/chats/{id}',
  operationId: 'getChat',
  tags: ['chats'],
  summary: 'Get a chat',
  request: { params: IdParam },
  responses: { 200: json(ChatJson, 'The chat'), ...unauthenticated, ...error('NOT_FOUND', 'No such chat') },
});

const listConversations = createRoute({
  method: 'get',
  path: '/chats/{id}/conversations',
  operationId: 'listChatConversations',
  tags: ['conversations'],
  summary: "List a chat's conversations, oldest first (an addition to the seed API)",
  request: { params: IdParam },
  responses: {
    200: json(z.array(ConversationJson), 'The messages of the chat'),
    ...unauthenticated,
    ...error('NOT_FOUND', 'No such chat'),
  },
});

const getConversation = createRoute({
  method: 'get',
  path: '/conversations/{id}',
  operationId: 'getConversation',
  tags: ['conversations'],
  summary: 'Get one message (an addition to the seed API: where `Location` points after a create)',
  request: { params: IdParam },
  responses: { 200: json(ConversationJson, 'The conversation'), ...unauthenticated, ...error('NOT_FOUND', 'No such conversation') },
});

const createChat = createRoute({
  method: 'post',
  path: '/chats/create',
  operationId: 'createChat',
  tags: ['chats'],
  summary: 'Create a chat',
  request: jsonBody(z.object({ name: ChatName })),
  responses: { ...created(ChatJson, 'The new chat', '`/chats/<id>`'), ...unauthenticated, ...bodyErrors },
});

const updateChat = createRoute({
  method: 'put',
  path: '/chats/update/{id}',
  operationId: 'updateChat',
  tags: ['chats'],
  summary: 'Rename a chat; `updated_at`, when given, is stored as given, else now',
  request: {
    params: IdParam,
    ...jsonBody(
      z.object({
        name: ChatName,
        updated_at: TimestampString.nullish().openapi({
          description: 'ISO-8601 (`2023-08-05T14:48:00Z`), or with a space for the "T" as Python prints it; no zone means UTC',
        }),
      }),
    ),
  },
  responses: {
    200: json(ChatJson, 'The updated chat'),
    ...unauthenticated,
    ...bodyErrors,
    ...error('NOT_FOUND', 'No such chat'),
  },
});

const deleteChat = createRoute({
  method: 'delete',
  path: '/chats/delete/{id}',
  operationId: 'deleteChat',
  tags: ['chats'],
  summary: 'Delete a chat and its conversations',
  request: { params: IdParam },
  responses: { 200: json(ChatJson, 'The deleted chat'), ...unauthenticated, ...error('NOT_FOUND', 'No such chat') },
});

const createConversation = createRoute({
  method: 'post',
  path: '/conversations/create',
  operationId: 'createConversation',
  tags: ['conversations'],
  summary: 'Add a message to a chat',
  request: jsonBody(z.object({ chat_id: ChatId, role: RoleInput, message: Message })),
  responses: {
    ...created(ConversationJson, 'The new conversation', '`/conversations/<id>`'),
    ...unauthenticated,
    ...bodyErrors,
    ...error('NOT_FOUND', 'No such chat'),
  },
});

const SSE_FORMAT = `Server-Sent Events: the stream opens with \`retry: <SSE_RETRY_MS>\`, then sends

    id: <reply id>.<position>   (send it back as Last-Event-ID to resume right after it; 204 once all was sent)
    event: sources  data: {"sources": [{"index", "title", "url", "snippet"}, …], "error": null | {"code", "detail"}, "query": "…"}
                    (internet answers only, before the first token; sent again on every replay or resume)
    data: <token text>          (a token: an unnamed event, what EventSource.onmessage receives; a token
                                 of several lines is several data: lines; a "\\r" arrives as a line break)
    event: done     data: {"conversation": <the stored Assistant conversation, its exact text>, "usage": {...} | null}
    event: error    data: {"code": "UPSTREAM_ERROR" | "UPSTREAM_TIMEOUT" | "UPSTREAM_OVERLOADED" | "UPSTREAM_REJECTED" |
                           "ABANDONED" | "STOPPED" | "SHUTDOWN" | "INTERRUPTED" | "NOT_FOUND" | "SLOW_CONSUMER" | …, "detail": "..."}

A comment (": heartbeat") every SSE_HEARTBEAT_MS (15 s by default); the stream ends after done or error.
HEAD answers 200 with the stream's headers and no body, and looks nothing up nor starts anything.`;

const InferenceQuery = z.object({
  regenerate: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true')
    .openapi({ description: 'Generate a new reply even if one is stored' }),
  lastEventId: z.string().optional().openapi({ description: 'Same as the Last-Event-ID header (for clients that cannot send it)' }),
});

const LastEventIdHeader = z.object({
  'last-event-id': z.string().optional().openapi({
    description: 'The id of the last event received (`<reply id>.<position>`): resume that reply right after it',
    example: '3fa85f64-5717-4562-b3fc-2c963f66afa6.42',
  }),
});

const sseResponses = {
  200: { content: { 'text/event-stream': { schema: z.string() } }, description: SSE_FORMAT },
  204: { description: 'Last-Event-ID was the final event: nothing more to send' },
  ...unauthenticated,
  ...error('NOT_FOUND', 'No such conversation, or a chat with no Human message'),
  ...error('VALIDATION_FAILED', "The id is an Assistant message, or Last-Event-ID names another message's reply or is not one of ours"),
  503: json(
    errorJson('SERVICE_UNAVAILABLE', 'DATABASE_UNAVAILABLE'),
    'No model server configured (or, for internet answers, no SERPAPI_API_KEY), shutting down, or the database did not answer',
  ),
};

const stopGeneration = createRoute({
  method: 'post',
  path: '/conversations/stop/{id}',
  operationId: 'stopGeneration',
  tags: ['inference'],
  summary: "Stop the generation answering a Human message (or a chat's latest one), wherever it runs",
  description:
    "Aborts the model request, stores the reply `incomplete` with code `STOPPED`, and ends every listener's stream " +
    'with that final `error` event, whichever instance generates it. Answers the reply as stored then; when ' +
    'nothing is running, the latest reply as it is (`null` if there is none). No body is read.',
  request: {
    params: IdParam,
    query: z.object({
      internet: z
        .enum(['true', 'false'])
        .optional()
        .transform((value) => value === 'true')
        .openapi({ description: 'Stop the internet answer instead of the plain one' }),
    }),
  },
  responses: {
    200: json(ConversationJson.nullable(), 'The reply as stored after the stop, or the latest reply unchanged'),
    ...unauthenticated,
    ...error('NOT_FOUND', 'No such conversation, or a chat with no Human message'),
    ...error('VALIDATION_FAILED', 'The id is an Assistant message'),
    503: json(
      errorJson('REDIS_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'DATABASE_UNAVAILABLE'),
      'The generation runs on another instance and Redis is unavailable (or not configured), or the database did not answer',
    ),
  },
});

const inference = createRoute({
  method: 'get',
  path: '/conversations/inference/{id}',
  operationId: 'streamInference',
  tags: ['inference'],
  summary: "Stream the model's answer to a Human message (or a chat's latest one)",
  description:
    'One generation per message: a second listener joins it, a finished reply is replayed from the store, ' +
    '`regenerate=true` asks for a new one.',
  request: { params: IdParam, query: InferenceQuery, headers: LastEventIdHeader },
  responses: sseResponses,
});

const inferenceInternet = createRoute({
  method: 'get',
  path: '/conversations/inference_internet/{id}',
  operationId: 'streamInternetInference',
  tags: ['inference'],
  summary: 'Stream an answer grounded in web search results, with numbered sources',
  description:
    'Searches Google through SerpAPI for the message (with the earlier questions it follows up on), gives the ' +
    'results to the model as numbered sources to cite as [1], [2]…, and sends them first as a `sources` event. ' +
    'When the search fails the answer goes on ungrounded and the `sources` event says why.',
  request: { params: IdParam, query: InferenceQuery, headers: LastEventIdHeader },
  responses: sseResponses,
});

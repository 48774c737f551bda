import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { AppError, validationFailed } from '../errors.ts';
import type { AppEnv } from '../http/env.ts';
import { ChatId, ChatName, Message, RoleInput, TimestampString } from '../services/inputs.ts';
import type { Services } from '../domain.ts';
import { sseResponse } from './sse.ts';
import { ChatJson, chatJson, ConversationJson, conversationJson, ErrorJson } from './representation.ts';

/**
 * The legacy REST API of ../shared/seed-api.md, route for route, as a thin shell over the same
 * services GraphQL resolves with. Bodies are validated with the services' own rules; the OpenAPI
 * description at /openapi.json is generated from this table.
 */
export function legacyRoutes(services: Services, options: { heartbeatMs: number }): OpenAPIHono<AppEnv> {
  const rest = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationFailed(result.error);
    },
  });

  rest.use('*', requireJsonBody);

  const allChats = async (c: Context<AppEnv>) => c.json((await services.chats.list(c.get('caller'))).map(chatJson), 200);
  rest.openapi(listChats, allChats);
  rest.get('/chats', allChats); // the seed documents `/chats/`; clients also call it without the slash

  rest.openapi(getChat, async (c) => c.json(chatJson(await services.chats.get(c.get('caller'), c.req.valid('param').id)), 200));

  rest.openapi(listConversations, async (c) => {
    const conversations = await services.conversations.listByChat(c.get('caller'), c.req.valid('param').id);
    return c.json(conversations.map(conversationJson), 200);
  });

  rest.openapi(createChat, async (c) => c.json(chatJson(await services.chats.create(c.get('caller'), c.req.valid('json'))), 200));

  rest.openapi(updateChat, async (c) => {
    const { name, updated_at: updatedAt } = c.req.valid('json');
    return c.json(chatJson(await services.chats.update(c.get('caller'), c.req.valid('param').id, { name, updatedAt })), 200);
  });

  rest.openapi(deleteChat, async (c) => c.json(chatJson(await services.chats.delete(c.get('caller'), c.req.valid('param').id)), 200));

  rest.openapi(createConversation, async (c) => {
    const { chat_id: chatId, role, message } = c.req.valid('json');
    return c.json(conversationJson(await services.conversations.create(c.get('caller'), { chatId, role, message })), 200);
  });

  /** One handler for both inference routes; the query was validated by the route's own schema. */
  const streamAnswer = async (
    c: Context<AppEnv>,
    id: string,
    query: z.output<typeof InferenceQuery>,
    internet: boolean,
  ): Promise<Response> => {
    const events = await services.replies.open(id, {
      caller: c.get('caller'),
      internet,
      regenerate: query.regenerate,
      lastEventId: c.req.header('last-event-id') ?? query.lastEventId,
    });
    // 204 tells an EventSource that reconnected after the final event to stop reconnecting.
    if (!events) return c.body(null, 204);
    return sseResponse(events, options.heartbeatMs);
  };
  rest.openapi(inference, (c) => streamAnswer(c, c.req.valid('param').id, c.req.valid('query'), false));
  rest.openapi(inferenceInternet, (c) => streamAnswer(c, c.req.valid('param').id, c.req.valid('query'), true));

  rest.openapi(stopGeneration, async (c) => {
    const stored = await services.replies.stop(c.req.valid('param').id, { caller: c.get('caller'), internet: c.req.valid('query').internet });
    return c.json(stored && conversationJson(stored), 200);
  });

  return rest;
}

/**
 * Bodies are JSON; anything else is refused up front rather than read as an empty object. A stop
 * request has no body to read (`curl -X POST` sends no content type).
 */
const requireJsonBody: MiddlewareHandler = async (c, next) => {
  if ((c.req.method === 'POST' || c.req.method === 'PUT') && !c.req.path.startsWith(STOP_PATH)) {
    const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    }
  }
  await next();
};

const IdParam = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '3fa85f64-5717-4562-b3fc-2c963f66afa6' }),
});

const json = <Schema extends z.ZodType>(schema: Schema, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const errors = {
  400: json(ErrorJson, 'Malformed JSON body'),
  404: json(ErrorJson, 'No such chat or conversation'),
  413: json(ErrorJson, 'Body larger than the configured limit'),
  415: json(ErrorJson, 'Body is not JSON'),
  422: json(ErrorJson, 'A field is missing, of the wrong type or out of bounds'),
};

const jsonBody = <Schema extends z.ZodType>(schema: Schema) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});

const listChats = createRoute({
  method: 'get',
  path: '/chats/',
  tags: ['chats'],
  summary: 'List chats, most recently updated first',
  responses: { 200: json(z.array(ChatJson), 'All chats') },
});

const getChat = createRoute({
  method: 'get',
  path: '/chats/{id}',
  tags: ['chats'],
  summary: 'Get a chat',
  request: { params: IdParam },
  responses: { 200: json(ChatJson, 'The chat'), 404: errors[404] },
});

const listConversations = createRoute({
  method: 'get',
  path: '/chats/{id}/conversations',
  tags: ['conversations'],
  summary: "List a chat's conversations, oldest first (an addition to the seed API)",
  request: { params: IdParam },
  responses: { 200: json(z.array(ConversationJson), 'The messages of the chat'), 404: errors[404] },
});

const createChat = createRoute({
  method: 'post',
  path: '/chats/create',
  tags: ['chats'],
  summary: 'Create a chat',
  request: jsonBody(z.object({ name: ChatName })),
  responses: { 200: json(ChatJson, 'The new chat'), ...errors },
});

const updateChat = createRoute({
  method: 'put',
  path: '/chats/update/{id}',
  tags: ['chats'],
  summary: 'Rename a chat; `updated_at`, when given, is stored as given, else now',
  request: { params: IdParam, ...jsonBody(z.object({ name: ChatName, updated_at: TimestampString.nullish() })) },
  responses: { 200: json(ChatJson, 'The updated chat'), ...errors },
});

const deleteChat = createRoute({
  method: 'delete',
  path: '/chats/delete/{id}',
  tags: ['chats'],
  summary: 'Delete a chat and its conversations',
  request: { params: IdParam },
  responses: { 200: json(ChatJson, 'The deleted chat'), 404: errors[404] },
});

const createConversation = createRoute({
  method: 'post',
  path: '/conversations/create',
  tags: ['conversations'],
  summary: 'Add a message to a chat',
  request: jsonBody(
    z.object({ chat_id: ChatId, role: RoleInput, message: Message }),
  ),
  responses: { 200: json(ConversationJson, 'The new conversation'), ...errors },
});

const SSE_FORMAT = `Server-Sent Events, one per model token, then one final event:

    id: <n>      (a position in the reply: resume after it with Last-Event-ID; 204 once all was sent)
    event: sources data: {"sources": [{"index", "title", "url", "snippet"}, …], "error": null | {"code", "detail"}, "query": "…"}
                   (internet answers only, before the first token; sent again on every replay or resume)
    event: token   data: {"text": "<token text>"}
    event: done    data: {"conversation": <the stored Assistant conversation>, "usage": {...} | null}
    event: error   data: {"code": "UPSTREAM_ERROR" | "UPSTREAM_TIMEOUT" | ..., "detail": "..."}

A comment (": heartbeat") every SSE_HEARTBEAT_MS (15 s by default); the stream ends after done or error.`;

const InferenceQuery = z.object({
  regenerate: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true')
    .openapi({ description: 'Generate a new reply even if one is stored' }),
  lastEventId: z.string().optional().openapi({ description: 'Same as the Last-Event-ID header' }),
});

const sseResponses = {
  200: { content: { 'text/event-stream': { schema: z.string() } }, description: SSE_FORMAT },
  204: { description: 'Last-Event-ID was the final event: nothing more to send' },
  404: json(ErrorJson, 'No such conversation, or a chat with no Human message'),
  409: json(ErrorJson, 'Another instance is generating this reply'),
  422: json(ErrorJson, 'The id is an Assistant message, or Last-Event-ID is not a number'),
  503: json(ErrorJson, 'No model server configured (or, for internet answers, no SERPAPI_API_KEY)'),
};

const STOP_PATH = '/conversations/stop/';

const stopGeneration = createRoute({
  method: 'post',
  path: `${STOP_PATH}{id}`,
  tags: ['inference'],
  summary: 'Stop the generation answering a Human message (or a chat\'s latest one), wherever it runs',
  description:
    'Aborts the model request, stores the reply `incomplete` with code `STOPPED`, and ends every listener\'s stream ' +
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
    404: errors[404],
    422: json(ErrorJson, 'The id is an Assistant message'),
    503: json(ErrorJson, 'The generation runs on another instance and Redis is unavailable (`REDIS_UNAVAILABLE`)'),
  },
});

const inference = createRoute({
  method: 'get',
  path: '/conversations/inference/{id}',
  tags: ['inference'],
  summary: "Stream the model's answer to a Human message (or a chat's latest one)",
  description:
    'One generation per message: a second listener joins it, a finished reply is replayed from the store, ' +
    '`regenerate=true` asks for a new one.',
  request: { params: IdParam, query: InferenceQuery },
  responses: sseResponses,
});

const inferenceInternet = createRoute({
  method: 'get',
  path: '/conversations/inference_internet/{id}',
  tags: ['inference'],
  summary: 'Stream an answer grounded in web search results, with numbered sources',
  description:
    'Searches Google through SerpAPI for the message (with the earlier questions it follows up on), gives the ' +
    'results to the model as numbered sources to cite as [1], [2]…, and sends them first as a `sources` event. ' +
    'When the search fails the answer goes on ungrounded and the `sources` event says why.',
  request: { params: IdParam, query: InferenceQuery },
  responses: sseResponses,
});

import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { AppError, validationFailed } from '../errors.ts';
import { ChatId, ChatName, Message, RoleInput, TimestampString } from '../services/inputs.ts';
import type { Services } from '../services/index.ts';
import { ChatJson, chatJson, ConversationJson, conversationJson, ErrorJson } from './representation.ts';

/**
 * The legacy REST API of ../shared/seed-api.md, route for route, as a thin shell over the same
 * services GraphQL resolves with. Bodies are validated with the services' own rules; the OpenAPI
 * description at /openapi.json is generated from this table.
 */
export function legacyRoutes(services: Services): OpenAPIHono {
  const rest = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw validationFailed(result.error);
    },
  });

  rest.use('*', requireJsonBody);

  const allChats = async (c: Context) => c.json((await services.chats.list()).map(chatJson), 200);
  rest.openapi(listChats, allChats);
  rest.get('/chats', allChats); // the seed documents `/chats/`; clients also call it without the slash

  rest.openapi(getChat, async (c) => c.json(chatJson(await services.chats.get(c.req.valid('param').id)), 200));

  rest.openapi(listConversations, async (c) => {
    const conversations = await services.conversations.listByChat(c.req.valid('param').id);
    return c.json(conversations.map(conversationJson), 200);
  });

  rest.openapi(createChat, async (c) => c.json(chatJson(await services.chats.create(c.req.valid('json'))), 200));

  rest.openapi(updateChat, async (c) => {
    const { name, updated_at: updatedAt } = c.req.valid('json');
    return c.json(chatJson(await services.chats.update(c.req.valid('param').id, { name, updatedAt })), 200);
  });

  rest.openapi(deleteChat, async (c) => c.json(chatJson(await services.chats.delete(c.req.valid('param').id)), 200));

  rest.openapi(createConversation, async (c) => {
    const { chat_id: chatId, role, message } = c.req.valid('json');
    return c.json(conversationJson(await services.conversations.create({ chatId, role, message })), 200);
  });

  return rest;
}

/** Bodies are JSON; anything else is refused up front rather than read as an empty object. */
const requireJsonBody: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'POST' || c.req.method === 'PUT') {
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

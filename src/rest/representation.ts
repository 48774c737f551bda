import { z } from '@hono/zod-openapi';
import type { ErrorCode } from '../errors.ts';
import type { Chat, Conversation } from '../generated/prisma/client.ts';
import { groundingOf, usageOf } from '../replies/events.ts';
import type { Usage } from '../upstream/model.ts';
import { SourceModel } from '../upstream/search.ts';

/** The seed API's JSON, field for field: snake_case, ISO-8601 UTC timestamps with milliseconds. */
export const ChatJson = z
  .object({
    id: z.uuid(),
    name: z.string(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi('Chat', {
    example: {
      id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      name: 'Chat 1',
      created_at: '2023-08-05T14:48:00.000Z',
      updated_at: '2023-08-05T14:48:00.000Z',
    },
  });

export const UsageJson = z.object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() }).openapi('Usage');

export const SourceJson = SourceModel.openapi('Source', { description: 'A web source, cited in the answer as `[index]`' });

const ErrorDetailJson = z.object({ code: z.string(), detail: z.string() });

export const ConversationJson = z
  .object({
    id: z.uuid(),
    role: z.enum(['Human', 'Assistant']),
    chat_id: z.uuid(),
    message: z.string(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    // Only on replies the gateway generated; messages clients wrote keep the seed's exact shape.
    reply_to_id: z.uuid().optional().openapi({ description: 'The Human message this reply answers' }),
    status: z.enum(['streaming', 'complete', 'incomplete', 'failed']).optional(),
    finish_reason: z.string().nullable().optional().openapi({ description: "The model's, e.g. `stop` or `length`" }),
    usage: UsageJson.nullable().optional(),
    error: ErrorDetailJson.nullable().optional(),
    // Only on internet replies (inference_internet).
    grounded: z.boolean().optional().openapi({ description: 'Whether the answer had web sources to work from' }),
    search_query: z.string().nullable().optional().openapi({ description: 'What was searched for (null if stopped before the search)' }),
    sources: z.array(SourceJson).optional().openapi({ description: 'The numbered web sources given to the model' }),
    search_error: ErrorDetailJson.nullable()
      .optional()
      .openapi({ description: 'Why the search gave no sources (SEARCH_TIMEOUT, SEARCH_QUOTA_EXCEEDED, …)' }),
  })
  .openapi('Conversation');

const errorBodies = new Map<string, z.ZodType>();

/**
 * The REST error body `{"detail", "code"}` for one code, with the code as an enum: a component per code
 * (`NotFoundError`, `ValidationFailedError`…), so that generated clients can switch on it.
 */
export function errorJson(...codes: [ErrorCode, ...ErrorCode[]]): z.ZodType {
  const key = codes.join(' ');
  let body = errorBodies.get(key);
  if (!body) {
    const name = `${codes.map((code) => code.toLowerCase().replace(/(^|_)(\w)/g, (_match, _separator, letter: string) => letter.toUpperCase())).join('Or')}Error`;
    body = z
      .object({
        detail: z.string().openapi({ description: 'What is wrong, in a sentence.' }),
        code: z.enum(codes).openapi({ description: 'Machine-readable error code, the same as GraphQL `extensions.code`.' }),
      })
      .openapi(name);
    errorBodies.set(key, body);
  }
  return body;
}

export function chatJson(chat: Chat): z.infer<typeof ChatJson> {
  return {
    id: chat.id,
    name: chat.name,
    created_at: chat.createdAt.toISOString(),
    updated_at: chat.updatedAt.toISOString(),
  };
}

export function conversationJson(conversation: Conversation): z.infer<typeof ConversationJson> {
  const json = {
    id: conversation.id,
    role: conversation.role,
    chat_id: conversation.chatId,
    message: conversation.message,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
  };
  if (!conversation.replyToId) return json;
  const reply = {
    ...json,
    reply_to_id: conversation.replyToId,
    status: conversation.status ?? undefined,
    finish_reason: conversation.finishReason,
    usage: usageJson(usageOf(conversation)),
    error: conversation.errorCode ? { code: conversation.errorCode, detail: conversation.errorDetail ?? '' } : null,
  };
  const grounding = groundingOf(conversation);
  if (!grounding) return reply;
  return {
    ...reply,
    grounded: grounding.sources.length > 0,
    search_query: grounding.query,
    sources: grounding.sources,
    search_error: grounding.error,
  };
}

export function usageJson(usage: Usage | null): z.infer<typeof UsageJson> | null {
  if (!usage) return null;
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens };
}

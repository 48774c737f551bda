import { z } from '@hono/zod-openapi';
import type { Chat, Conversation } from '../generated/prisma/client.ts';

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

export const ConversationJson = z
  .object({
    id: z.uuid(),
    role: z.enum(['Human', 'Assistant']),
    chat_id: z.uuid(),
    message: z.string(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi('Conversation');

export const ErrorJson = z
  .object({
    detail: z.string().openapi({ description: 'What is wrong, in a sentence.' }),
    code: z.string().openapi({ description: 'Machine-readable error code, the same as GraphQL `extensions.code`.' }),
  })
  .openapi('Error', { example: { detail: 'Chat "3fa85f64-5717-4562-b3fc-2c963f66afa6" not found', code: 'NOT_FOUND' } });

export function chatJson(chat: Chat): z.infer<typeof ChatJson> {
  return {
    id: chat.id,
    name: chat.name,
    created_at: chat.createdAt.toISOString(),
    updated_at: chat.updatedAt.toISOString(),
  };
}

export function conversationJson(conversation: Conversation): z.infer<typeof ConversationJson> {
  return {
    id: conversation.id,
    role: conversation.role,
    chat_id: conversation.chatId,
    message: conversation.message,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
  };
}

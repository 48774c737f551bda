import { filter, pipe } from 'graphql-yoga';
import { AppError } from '../errors.ts';
import { releasingWhenDone } from '../limits/limits.ts';
import { CHAT_EVENT_TYPES, type ChatEvent } from '../services/events.ts';
import { isUuid } from '../services/inputs.ts';
import { builder } from './builder.ts';
import { ChatRef } from './chat.ts';
import { ConversationRef } from './conversation.ts';

const ChatEventTypeEnum = builder.enumType('ChatEventType', { values: CHAT_EVENT_TYPES });

const ChatEventRef = builder.objectRef<ChatEvent>('ChatEvent').implement({
  description: 'Something that happened to a chat, for live dashboards.',
  fields: (t) => ({
    type: t.field({ type: ChatEventTypeEnum, resolve: (event) => event.type }),
    chatId: t.exposeID('chatId'),
    chat: t.field({
      type: ChatRef,
      nullable: true,
      description: 'The chat after the change (before it, for CHAT_DELETED); null on message and generation events.',
      resolve: (event) => event.chat ?? null,
    }),
    conversation: t.field({
      type: ConversationRef,
      nullable: true,
      description: 'The message created, or the reply a generation event is about.',
      resolve: (event) => event.conversation ?? null,
    }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

builder.subscriptionField('chatEvents', (t) =>
  t.field({
    description:
      "Every change to the caller's chats (every chat, for admins), their messages and their generations; only those of `chatId` when given.",
    type: ChatEventRef,
    args: { chatId: t.arg.id() },
    subscribe: async (_root, { chatId }, ctx) => {
      // A malformed id would subscribe to nothing, silently and forever.
      if (chatId != null && !isUuid(chatId)) throw new AppError('VALIDATION_FAILED', 'chatId must be a UUID');
      // Each subscription holds one of the caller's stream slots until it ends.
      const release = await ctx.services.limits.openStream(ctx.caller);
      const events = pipe(
        ctx.services.events.subscribe('chatEvents'),
        filter((event: ChatEvent) => (ctx.caller.admin || event.ownerId === ctx.caller.owner) && (!chatId || event.chatId === chatId)),
      );
      return releasingWhenDone(events, release);
    },
    resolve: (event) => event,
  }),
);

import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import type { Chat } from '../generated/prisma/client.ts';
import type { ChatAsDeleted } from '../services/chats.ts';
import { builder } from './builder.ts';
import { ConversationRef } from './conversation.ts';
import { NodeRef } from './node.ts';

const isDeleted = (chat: Chat | ChatAsDeleted): chat is ChatAsDeleted => Array.isArray((chat as Partial<ChatAsDeleted>).conversations);

/** plugin-prisma's reading of the paging arguments, cursors and page info: those `t.relatedConnection` gave. */
const conversationPages = prismaConnectionHelpers(builder, 'Conversation', { cursor: 'id' });

const ConversationConnectionRef = builder.connectionObject(
  { type: ConversationRef, name: 'ConversationConnection' },
  { name: 'ConversationEdge' },
);

export const ChatRef = builder.prismaObject('Chat', {
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    conversations: t.loadable({
      description: 'The messages of the chat, oldest first.',
      type: ConversationConnectionRef,
      args: t.arg.connectionArgs(),
      // A loader per place in the operation, so per arguments: the chats of a page are read together.
      byPath: true,
      // Batching only: a subscription's context outlives its events, and messages change between them.
      loaderOptions: { cache: false },
      load: async (chats: (Chat | ChatAsDeleted)[], ctx, args) => {
        // Only the paging part of the helper's query is used (`take` is always set): the rows come whole.
        const { take, cursor } = conversationPages.getQuery(args, ctx, () => true);
        const page = { take: take!, cursor };
        const { conversations } = ctx.services;
        const stored = chats.filter((chat) => !isDeleted(chat));
        const pages = await conversations.pageOfEachChat(
          ctx.caller,
          stored.map((chat) => chat.id),
          page,
        );
        const byChat = new Map(stored.map((chat, index) => [chat, pages[index]!]));
        return chats.map((chat) =>
          conversationPages.resolve(isDeleted(chat) ? conversations.pageOf(chat.conversations, page) : byChat.get(chat)!, args, ctx),
        );
      },
      // The chat itself: a deleted one (deleteChat, CHAT_DELETED) holds its conversations as they were.
      resolve: (chat) => chat,
    }),
  }),
});

builder.queryFields((t) => ({
  chats: t.prismaConnection(
    {
      description: 'All chats, most recently updated first.',
      type: 'Chat',
      cursor: 'id',
      resolve: (query, _root, _args, ctx) => ctx.services.chats.list(ctx.caller, query),
    },
    { name: 'ChatConnection' },
    { name: 'ChatEdge' },
  ),
  chat: t.prismaField({
    type: 'Chat',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) => ctx.services.chats.find(ctx.caller, id, query),
  }),
}));

builder.mutationFields((t) => ({
  createChat: t.prismaField({
    type: 'Chat',
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.services.chats.create(ctx.caller, args, query),
  }),
  updateChat: t.prismaField({
    description: 'Renames a chat. `updatedAt`, when given, is stored as given; otherwise it becomes now.',
    type: 'Chat',
    args: {
      id: t.arg.id({ required: true }),
      name: t.arg.string({ required: true }),
      updatedAt: t.arg({ type: 'DateTime' }),
    },
    resolve: (query, _root, { id, ...input }, ctx) => ctx.services.chats.update(ctx.caller, id, input, query),
  }),
  deleteChat: t.prismaField({
    description: 'Deletes a chat with all its conversations and returns it as it was.',
    type: 'Chat',
    args: { id: t.arg.id({ required: true }) },
    // With its conversations, which `Chat.conversations` then pages: the database no longer has them.
    resolve: (query, _root, { id }, ctx) => ctx.services.chats.delete(ctx.caller, id, query, { withConversations: true }),
  }),
}));

import { CONVERSATION_ORDER } from '../services/conversations.ts';
import { builder } from './builder.ts';
import { NodeRef } from './node.ts';

export const ChatRef = builder.prismaObject('Chat', {
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    conversations: t.relatedConnection(
      'conversations',
      {
        description: 'The messages of the chat, oldest first.',
        cursor: 'id',
        query: { orderBy: CONVERSATION_ORDER },
      },
      { name: 'ConversationConnection' },
      { name: 'ConversationEdge' },
    ),
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
    resolve: (query, _root, { id }, ctx) => ctx.services.chats.delete(ctx.caller, id, query),
  }),
}));

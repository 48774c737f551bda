import { Role } from '../generated/prisma/enums.ts';
import { builder } from './builder.ts';

const RoleEnum = builder.enumType(Role, { name: 'Role' });

builder.prismaObject('Conversation', {
  description: 'One message of a chat.',
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.expose('role', { type: RoleEnum }),
    chatId: t.exposeID('chatId'),
    chat: t.relation('chat'),
    message: t.exposeString('message'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryField('conversation', (t) =>
  t.prismaField({
    type: 'Conversation',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) => ctx.services.conversations.find(id, query),
  }),
);

builder.mutationField('createConversation', (t) =>
  t.prismaField({
    type: 'Conversation',
    args: {
      chatId: t.arg.id({ required: true }),
      role: t.arg({ type: RoleEnum, required: true }),
      message: t.arg.string({ required: true }),
    },
    resolve: (query, _root, args, ctx) => ctx.services.conversations.create(args, query),
  }),
);

import type { Chat, Conversation } from '../generated/prisma/client.ts';
import { builder } from './builder.ts';

/**
 * Relay's object identification, on the ids clients already have: `id` stays the plain UUID the REST API
 * uses rather than an opaque global id (which would break sharing ids between the two APIs). A UUID
 * names one row of one table, so `node(id:)` looks the id up among chats and messages alike.
 */
export const NodeRef = builder.interfaceRef<Chat | Conversation>('Node').implement({
  description: 'An object with an id unique across all types: refetch it with `node(id:)`.',
  resolveType: (node) => ('chatId' in node ? 'Conversation' : 'Chat'),
  fields: (t) => ({ id: t.exposeID('id') }),
});

builder.queryField('node', (t) =>
  t.field({
    description:
      'The chat or message with this id, if the caller may see it (as `chat(id:)` and `conversation(id:)`); ' +
      'null otherwise, malformed ids included.',
    type: NodeRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, { services, caller }) => {
      const [chat, conversation] = await Promise.all([services.chats.find(caller, id), services.conversations.find(caller, id)]);
      return chat ?? conversation;
    },
  }),
);

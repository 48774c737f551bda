import { Role } from '../generated/prisma/enums.ts';
import { groundingOf, usageOf } from '../replies/events.ts';
import type { Grounding } from '../replies/grounding.ts';
import type { Usage } from '../upstream/model.ts';
import type { Source } from '../upstream/search.ts';
import { builder } from './builder.ts';
import { NodeRef } from './node.ts';

const RoleEnum = builder.enumType(Role, { name: 'Role' });

const ReplyStatusEnum = builder.enumType('ReplyStatus', {
  description: 'Where a generated reply stands.',
  values: {
    STREAMING: { value: 'streaming', description: 'Tokens are still arriving.' },
    COMPLETE: { value: 'complete', description: 'The model finished (see finishReason).' },
    INCOMPLETE: { value: 'incomplete', description: 'Stopped by the gateway: every listener left, or shutdown.' },
    FAILED: { value: 'failed', description: 'Stopped by a fault of the model server (see errorCode).' },
  } as const,
});

export const UsageRef = builder.objectRef<Usage>('Usage').implement({
  description: 'Token counts reported by the model server.',
  fields: (t) => ({
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    totalTokens: t.exposeInt('totalTokens'),
  }),
});

export const SourceRef = builder.objectRef<Source>('Source').implement({
  description: 'A web search result given to the model; the answer cites it as [index].',
  fields: (t) => ({
    index: t.exposeInt('index'),
    title: t.exposeString('title'),
    url: t.exposeString('url'),
    snippet: t.exposeString('snippet'),
  }),
});

export const SearchErrorRef = builder.objectRef<NonNullable<Grounding['error']>>('SearchError').implement({
  description:
    'Why a web search gave no sources: SEARCH_UNAUTHORIZED, SEARCH_QUOTA_EXCEEDED, SEARCH_TIMEOUT, SEARCH_NO_RESULTS, ' +
    'SEARCH_MALFORMED or SEARCH_FAILED.',
  fields: (t) => ({ code: t.exposeString('code'), detail: t.exposeString('detail') }),
});

export const ConversationRef = builder.prismaObject('Conversation', {
  description: 'One message of a chat.',
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.expose('role', { type: RoleEnum }),
    chatId: t.exposeID('chatId'),
    chat: t.relation('chat'),
    message: t.exposeString('message'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    replyTo: t.relation('replyTo', { nullable: true, description: 'The Human message a generated reply answers.' }),
    status: t.expose('status', { type: ReplyStatusEnum, nullable: true, description: 'Set on generated replies only.' }),
    finishReason: t.exposeString('finishReason', { nullable: true }),
    usage: t.field({ type: UsageRef, nullable: true, resolve: (conversation) => usageOf(conversation) }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    errorDetail: t.exposeString('errorDetail', { nullable: true }),
    grounded: t.boolean({
      nullable: true,
      description: 'Set on internet answers only: whether the web search gave the model sources to work from.',
      resolve: (conversation) => {
        const grounding = groundingOf(conversation);
        return grounding ? grounding.sources.length > 0 : null;
      },
    }),
    searchQuery: t.string({
      nullable: true,
      description: 'Set on internet answers only: what was searched for.',
      resolve: (conversation) => groundingOf(conversation)?.query ?? null,
    }),
    sources: t.field({
      type: [SourceRef],
      nullable: true,
      description: 'Set on internet answers only: the numbered web sources (empty when the search failed).',
      resolve: (conversation) => groundingOf(conversation)?.sources ?? null,
    }),
    searchError: t.field({
      type: SearchErrorRef,
      nullable: true,
      description: 'Set on internet answers whose search failed.',
      resolve: (conversation) => groundingOf(conversation)?.error ?? null,
    }),
  }),
});

builder.queryField('conversation', (t) =>
  t.prismaField({
    type: 'Conversation',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) => ctx.services.conversations.find(ctx.caller, id, query),
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
    resolve: (query, _root, args, ctx) => ctx.services.conversations.create(ctx.caller, args, query),
  }),
);

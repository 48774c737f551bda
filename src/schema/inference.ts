import type { Conversation } from '../generated/prisma/client.ts';
import type { InferenceEvent } from '../replies/events.ts';
import type { Usage } from '../upstream/model.ts';
import { builder } from './builder.ts';
import { ConversationRef, SearchErrorRef, SourceRef, UsageRef } from './conversation.ts';

type SourcesEvent = Extract<InferenceEvent, { type: 'sources' }>;
type TokenEvent = Extract<InferenceEvent, { type: 'token' }>;
type DoneEvent = Extract<InferenceEvent, { type: 'done' }>;
type ErrorEvent = Extract<InferenceEvent, { type: 'error' }>;

const InferenceSources = builder.objectRef<SourcesEvent>('InferenceSources').implement({
  description:
    'First event of an internet answer (also on replay): the numbered web sources the answer cites as [1], [2]…, or ' +
    'why the search gave none (the answer then goes on ungrounded).',
  fields: (t) => ({
    query: t.exposeString('query', { nullable: true, description: 'What was searched for (null if stopped before the search).' }),
    sources: t.field({ type: [SourceRef], resolve: (event) => event.sources }),
    error: t.field({ type: SearchErrorRef, nullable: true, resolve: (event) => event.error }),
  }),
});

const InferenceToken = builder.objectRef<TokenEvent>('InferenceToken').implement({
  fields: (t) => ({ text: t.exposeString('text') }),
});

const InferenceDone = builder.objectRef<DoneEvent>('InferenceDone').implement({
  description: 'The reply as stored, complete.',
  fields: (t) => ({
    conversation: t.field({ type: ConversationRef, resolve: (event): Conversation => event.conversation }),
    usage: t.field({ type: UsageRef, nullable: true, resolve: (event): Usage | null => event.usage }),
  }),
});

const InferenceError = builder.objectRef<ErrorEvent>('InferenceError').implement({
  description: 'Why the reply stopped: UPSTREAM_ERROR, UPSTREAM_TIMEOUT, UPSTREAM_OVERLOADED, UPSTREAM_REJECTED, …',
  fields: (t) => ({ code: t.exposeString('code'), detail: t.exposeString('detail') }),
});

const InferenceEventUnion = builder.unionType('InferenceEvent', {
  types: [InferenceSources, InferenceToken, InferenceDone, InferenceError],
  resolveType: (event) => ({ sources: InferenceSources, token: InferenceToken, done: InferenceDone, error: InferenceError })[event.type],
});

builder.subscriptionField('inference', (t) =>
  t.field({
    description:
      "The model's answer to a Human message (or a chat's latest one), token by token, then InferenceDone or " +
      'InferenceError. With `internet`, the answer is grounded in a web search and starts with InferenceSources. ' +
      'One generation per message and kind: a second subscriber joins it and a finished reply is replayed from ' +
      'the store, unless `regenerate`.',
    type: InferenceEventUnion,
    args: {
      conversationId: t.arg.id({ required: true }),
      internet: t.arg.boolean({ defaultValue: false, required: true }),
      regenerate: t.arg.boolean({ defaultValue: false, required: true }),
    },
    subscribe: async (_root, { conversationId, internet, regenerate }, ctx) => {
      const events = await ctx.services.replies.open(conversationId, { caller: ctx.caller, regenerate, internet });
      return events ?? emptyStream();
    },
    resolve: (event) => event,
  }),
);

async function* emptyStream(): AsyncGenerator<InferenceEvent> {}

builder.mutationField('stopGeneration', (t) =>
  t.field({
    description:
      "Stops the generation answering a Human message (or a chat's latest one), on whichever instance it runs: the " +
      'model request is aborted, the reply stored incomplete with code STOPPED, and every subscriber gets that ' +
      'InferenceError. Returns the reply as stored then; when nothing is running, the latest reply unchanged (null ' +
      'if there is none).',
    type: ConversationRef,
    nullable: true,
    args: {
      conversationId: t.arg.id({ required: true }),
      internet: t.arg.boolean({ defaultValue: false, required: true }),
    },
    resolve: (_root, { conversationId, internet }, ctx) =>
      ctx.services.replies.stop(String(conversationId), { caller: ctx.caller, internet }),
  }),
);

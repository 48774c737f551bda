import type { Conversation } from '../generated/prisma/client.ts';
import { z } from 'zod';
import type { Grounding } from './grounding.ts';
import type { Usage } from './model.ts';
import { SourceModel } from './search.ts';

/**
 * What a listener of a generation receives. `id` is a position in the reply, so any listener can
 * resume from it whether the reply is still streaming or already stored: a token's id is the length
 * of the reply text once the token is added; the final event's id is that length + 1. An internet
 * answer starts with its sources, sent again to every listener that joins or resumes, with the
 * position that listener starts from as id.
 */
export type InferenceEvent =
  | ({ type: 'sources'; id: number } & Grounding)
  | { type: 'token'; id: number; text: string }
  | { type: 'done'; id: number; conversation: Conversation; usage: Usage | null }
  | { type: 'error'; id: number; code: string; detail: string };

export function usageOf(reply: Conversation): Usage | null {
  if (reply.totalTokens === null) return null;
  return {
    promptTokens: reply.promptTokens ?? 0,
    completionTokens: reply.completionTokens ?? 0,
    totalTokens: reply.totalTokens,
  };
}

/** The last event of a stored reply: `done` when it completed, else the error it stopped with. */
export function finalEvent(reply: Conversation): InferenceEvent {
  const id = reply.message.length + 1;
  if (reply.status === 'complete') return { type: 'done', id, conversation: reply, usage: usageOf(reply) };
  return {
    type: 'error',
    id,
    code: reply.errorCode ?? 'INCOMPLETE',
    detail: reply.errorDetail ?? 'The reply was not finished',
  };
}

const StoredSources = z.array(SourceModel);

/**
 * The grounding stored with an internet reply (no sources and no query when it was stopped before
 * its search was made); null for every other message.
 */
export function groundingOf(reply: Conversation): Grounding | null {
  if (!reply.internet) return null;
  return {
    query: reply.searchQuery,
    sources: StoredSources.catch([]).parse(reply.sources ?? []),
    error: reply.searchErrorCode ? { code: reply.searchErrorCode, detail: reply.searchErrorDetail ?? '' } : null,
  };
}

/** The columns that store `grounding` on its reply. */
export function groundingColumns(grounding: Grounding) {
  return {
    searchQuery: grounding.query,
    sources: grounding.sources.map((source) => ({ ...source })),
    searchErrorCode: grounding.error?.code ?? null,
    searchErrorDetail: grounding.error?.detail ?? null,
  } satisfies Partial<Conversation>;
}

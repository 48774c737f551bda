import { z } from 'zod';
import type { Conversation } from '../generated/prisma/client.ts';
import type { Usage } from '../upstream/model.ts';
import { SourceModel } from '../upstream/search.ts';
import type { Grounding } from './grounding.ts';

/**
 * What a listener of a reply receives. `position` is a place in the reply's text, so any listener can
 * resume from it whether the reply is still streaming or already stored: a token's position is the
 * length of the reply text once the token is added; the final event's is that length + 1. An internet
 * answer starts with its sources, sent again to every listener that joins or resumes, at the position
 * that listener starts from.
 */
export type InferenceEvent =
  | ({ type: 'sources'; position: number } & Grounding)
  | { type: 'token'; position: number; text: string }
  | { type: 'done'; position: number; conversation: Conversation; usage: Usage | null }
  | { type: 'error'; position: number; code: string; detail: string };

/**
 * Where a client stands in a reply, as SSE event ids carry it: `<reply id>.<position>`. The reply id
 * makes a resume continue the reply the client holds, never another reply to the same message.
 */
export interface ReplyPosition {
  replyId: string;
  position: number;
}

export function eventId(replyId: string, position: number): string {
  return `${replyId}.${position}`;
}

const EVENT_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,15})$/i;

/** The position an event id names; null when it is not one of ours. */
export function parseEventId(value: string): ReplyPosition | null {
  const match = EVENT_ID.exec(value);
  return match ? { replyId: match[1]!.toLowerCase(), position: Number(match[2]) } : null;
}

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
  const position = finalPosition(reply);
  if (reply.status === 'complete') return { type: 'done', position, conversation: reply, usage: usageOf(reply) };
  return {
    type: 'error',
    position,
    code: reply.errorCode ?? 'INCOMPLETE',
    detail: reply.errorDetail ?? 'The reply was not finished',
  };
}

/** The final event's position: one past the text. A client that holds it has the whole reply. */
export function finalPosition(reply: Pick<Conversation, 'message'>): number {
  return reply.message.length + 1;
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

import type { InferenceConfig } from '../config.ts';
import type { Conversation, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { CONVERSATION_ORDER } from '../services/conversations.ts';
import type { ChatMessage } from '../upstream/model.ts';
import type { WebSearch } from '../upstream/search.ts';
import { type Grounding, ground, groundedSystemPrompt } from './grounding.ts';

/** What the model is asked, and for an internet answer, the web search it is grounded in. */
export interface Prepared {
  messages: ChatMessage[];
  grounding?: Grounding;
}

/** Prepares a generation's prompt; the signal aborts a search still under way. */
export interface PromptSource {
  prepare(signal: AbortSignal): Promise<Prepared>;
}

/**
 * The prompt answering `question` from its chat's history up to it, grounded first in a web search
 * when `search` is given.
 */
export class ReplyPrompt implements PromptSource {
  constructor(
    private readonly question: Conversation,
    private readonly search: WebSearch | null,
    private readonly deps: {
      prisma: PrismaClient;
      config: Pick<InferenceConfig, 'systemPrompt' | 'historyChars'>;
      logger: Logger;
    },
  ) {}

  async prepare(signal: AbortSignal): Promise<Prepared> {
    const { prisma, config, logger } = this.deps;
    const { question, search } = this;
    const history = await prisma.conversation.findMany({
      where: { chatId: question.chatId, seq: { lte: question.seq } },
      orderBy: CONVERSATION_ORDER,
    });
    if (!search) return { messages: buildPrompt(config.systemPrompt, history, question, config.historyChars) };
    const grounding = await ground(search, history, question, signal, logger);
    const systemPrompt = groundedSystemPrompt(config.systemPrompt, grounding, new Date());
    return { messages: buildPrompt(systemPrompt, history, question, config.historyChars), grounding };
  }
}

/** `[1]`, `[2][3]`: an earlier internet answer's citations point at sources this prompt no longer has. */
const CITATION = / ?\[\d+\]/g;

/**
 * The prompt for answering `question`: the system prompt, then the chat's history in order
 * (Human → user, Assistant → assistant) up to and including the question, dropping the oldest
 * messages first to stay within `historyChars`. The question itself is always sent, even when it
 * alone exceeds the budget (the model server then decides). Of the generated replies, only the
 * latest complete one to each message is kept: a half answer, or two answers in a row (plain and
 * internet, or regenerated), mislead the model.
 */
export function buildPrompt(systemPrompt: string, history: Conversation[], question: Conversation, historyChars: number): ChatMessage[] {
  const latestReply = new Map<string, Conversation>();
  for (const message of history) {
    if (message.replyToId && message.status === 'complete') latestReply.set(message.replyToId, message);
  }
  const usable = history.filter(
    (message) => message.id !== question.id && (!message.replyToId || latestReply.get(message.replyToId) === message),
  );
  const kept: ChatMessage[] = [];
  let budget = historyChars - question.message.length;
  for (let index = usable.length - 1; index >= 0; index -= 1) {
    const message = usable[index]!;
    const content = message.internet ? message.message.replace(CITATION, '') : message.message;
    budget -= content.length;
    if (budget < 0) break;
    kept.push({ role: message.role === 'Human' ? 'user' : 'assistant', content });
  }
  return [{ role: 'system', content: systemPrompt }, ...kept.reverse(), { role: 'user', content: question.message }];
}

import type { InferenceConfig } from '../config.ts';
import type { Conversation, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { NEWEST_CONVERSATION_FIRST } from '../services/conversations.ts';
import type { ChatMessage } from '../upstream/model.ts';
import type { WebSearch } from '../upstream/search.ts';
import { type EarlierMessage, type Grounding, ground, groundedSystemPrompt, MAX_EARLIER_QUESTIONS } from './grounding.ts';

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
    const { config, logger } = this.deps;
    const { question, search } = this;
    const budget = config.historyChars - question.message.length;
    if (!search) return { messages: buildPrompt(config.systemPrompt, await this.usableHistory(budget), question, config.historyChars) };
    // The search reads the questions before this one whether or not the prompt's budget reaches them.
    const [history, earlier] = await Promise.all([this.usableHistory(budget), this.earlierQuestions()]);
    const grounding = await ground(search, earlier, question, signal, logger);
    const systemPrompt = groundedSystemPrompt(config.systemPrompt, grounding, new Date());
    return { messages: buildPrompt(systemPrompt, history, question, config.historyChars), grounding };
  }

  /** The Human messages just before the question that a follow-up's search query may lean on, oldest first. */
  private async earlierQuestions(): Promise<EarlierMessage[]> {
    const { question } = this;
    const newestFirst = await this.deps.prisma.conversation.findMany({
      where: { chatId: question.chatId, role: 'Human', seq: { lt: question.seq } },
      orderBy: NEWEST_CONVERSATION_FIRST,
      take: MAX_EARLIER_QUESTIONS,
      select: { role: true, message: true, seq: true },
    });
    return newestFirst.reverse();
  }

  /**
   * The chat's messages before the question that buildPrompt may keep, oldest first: of the replies,
   * only the latest complete one to each message, and only as far back as `budget` characters reach,
   * counted as buildPrompt counts them or fewer (PostgreSQL counts code points, JavaScript UTF-16
   * units), so that buildPrompt makes the exact cut. Long chats and many regenerated replies then
   * cost the database an index scan, not this process every row.
   */
  private usableHistory(budget: number): Promise<PromptMessage[]> {
    const { question } = this;
    return this.deps.prisma.$queryRaw<PromptMessage[]>`
      SELECT id, seq, role::text AS role, message, reply_to_id AS "replyToId", status::text AS status, internet
      FROM (
        SELECT m.*, sum(char_length(CASE WHEN m.internet THEN regexp_replace(m.message, ${CITATION.source}, '', 'g') ELSE m.message END))
                      OVER (ORDER BY m.created_at DESC, m.seq DESC) AS used
        FROM conversations AS m
        WHERE m.chat_id = ${question.chatId}::uuid AND m.seq < ${question.seq} AND (
          m.reply_to_id IS NULL OR m.id = (
            SELECT r.id FROM conversations AS r
            WHERE r.reply_to_id = m.reply_to_id AND r.status = 'complete' AND r.seq < ${question.seq}
            ORDER BY r.created_at DESC, r.seq DESC LIMIT 1))
      ) AS usable
      WHERE used <= ${budget}
      ORDER BY created_at, seq`;
  }
}

/** What buildPrompt reads of a message. */
export type PromptMessage = Pick<Conversation, 'id' | 'seq' | 'role' | 'message' | 'replyToId' | 'status' | 'internet'>;

/** `[1]`, `[2][3]`: an earlier internet answer's citations point at sources this prompt no longer has. */
const CITATION = / ?\[[0-9]+\]/g;

/**
 * The prompt for answering `question`: the system prompt, then the chat's history in order
 * (Human → user, Assistant → assistant) up to and including the question, dropping the oldest
 * messages first to stay within `historyChars`. The question itself is always sent, even when it
 * alone exceeds the budget (the model server then decides). Of the generated replies, only the
 * latest complete one to each message is kept: a half answer, or two answers in a row (plain and
 * internet, or regenerated), mislead the model.
 */
export function buildPrompt(
  systemPrompt: string,
  history: readonly PromptMessage[],
  question: PromptMessage,
  historyChars: number,
): ChatMessage[] {
  const latestReply = new Map<string, PromptMessage>();
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

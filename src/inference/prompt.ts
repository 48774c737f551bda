import type { Conversation } from '../generated/prisma/client.ts';
import type { ChatMessage } from './model.ts';

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
export function buildPrompt(
  systemPrompt: string,
  history: Conversation[],
  question: Conversation,
  historyChars: number,
): ChatMessage[] {
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

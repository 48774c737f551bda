import type { Conversation } from '../generated/prisma/client.ts';
import type { ChatMessage } from './model.ts';

/**
 * The prompt for answering `question`: the system prompt, then the chat's history in order
 * (Human → user, Assistant → assistant) up to and including the question, dropping the oldest
 * messages first to stay within `historyChars`. The question itself is always sent, even when it
 * alone exceeds the budget (the model server then decides). Replies that did not complete are left
 * out: a half answer in the history misleads the model.
 */
export function buildPrompt(
  systemPrompt: string,
  history: Conversation[],
  question: Conversation,
  historyChars: number,
): ChatMessage[] {
  const usable = history.filter(
    (message) => message.id !== question.id && (message.status === null || message.status === 'complete'),
  );
  const kept: ChatMessage[] = [];
  let budget = historyChars - question.message.length;
  for (let index = usable.length - 1; index >= 0; index -= 1) {
    const message = usable[index]!;
    budget -= message.message.length;
    if (budget < 0) break;
    kept.push({ role: message.role === 'Human' ? 'user' : 'assistant', content: message.message });
  }
  return [{ role: 'system', content: systemPrompt }, ...kept.reverse(), { role: 'user', content: question.message }];
}

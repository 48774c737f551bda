import { describe, expect, it } from 'vitest';
import { buildPrompt } from '../../src/replies/prompt.ts';
import { conversationRows } from '../support/conversation-rows.ts';

const Q1 = '00000000-0000-4000-8000-000000000000';

describe('buildPrompt', () => {
  const history = conversationRows(
    { role: 'Human', message: 'Who won in 1986?' },
    { role: 'Assistant', message: 'Argentina (plain).', replyToId: Q1, status: 'complete' },
    { role: 'Assistant', message: 'Argentina won [1][2], beating West Germany [3].', replyToId: Q1, status: 'complete', internet: true },
    { role: 'Assistant', message: 'Argent', replyToId: Q1, status: 'failed' },
    { role: 'Assistant', message: 'A message a client wrote.' },
    { role: 'Human', message: 'and in 1990?' },
  );

  it('keeps only the latest complete reply to each message, without its citations, and client-written messages', () => {
    expect(buildPrompt('Be brief.', history, history.at(-1)!, 10_000)).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Who won in 1986?' },
      { role: 'assistant', content: 'Argentina won, beating West Germany.' },
      { role: 'assistant', content: 'A message a client wrote.' },
      { role: 'user', content: 'and in 1990?' },
    ]);
  });

  it('drops the oldest messages first to stay within the budget, but always sends the question', () => {
    const prompt = buildPrompt('Be brief.', history, history.at(-1)!, 'and in 1990?'.length + 'A message a client wrote.'.length);
    expect(prompt.map((message) => message.content)).toEqual(['Be brief.', 'A message a client wrote.', 'and in 1990?']);
    expect(buildPrompt('Be brief.', history, history.at(-1)!, 1).at(-1)).toEqual({ role: 'user', content: 'and in 1990?' });
  });
});

import { describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/generated/prisma/client.ts';
import { groundedSystemPrompt, isFollowUp, searchQueryFor } from '../../src/inference/grounding.ts';

/** A chat's messages in order, as the history query returns them. */
function chat(...messages: [Conversation['role'], string][]): Conversation[] {
  return messages.map(([role, message], index) => ({
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    seq: BigInt(index + 1),
    role,
    chatId: '00000000-0000-4000-8000-000000000000',
    message,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    replyToId: null,
    status: null,
    finishReason: null,
    promptTokens: null,
    completionTokens: null,
    totalTokens: null,
    errorCode: null,
    errorDetail: null,
    internet: false,
    searchQuery: null,
    sources: null,
    searchErrorCode: null,
    searchErrorDetail: null,
  }));
}

const queryOf = (history: Conversation[]) => searchQueryFor(history, history.at(-1)!);

describe('searchQueryFor', () => {
  it('searches for a question that stands alone as it is (spaces collapsed)', () => {
    expect(queryOf(chat(['Human', 'Old question about cats?'], ['Human', '  Who won the   World Cup in 1986? ']))).toBe(
      'Who won the World Cup in 1986?',
    );
  });

  it('puts the question a follow-up continues in front of it, never the Assistant reply', () => {
    const history = chat(['Human', 'Who won the World Cup in 1986?'], ['Assistant', 'Argentina won it.'], ['Human', 'and in 1990?']);
    expect(queryOf(history)).toBe('Who won the World Cup in 1986? and in 1990?');
  });

  it('follows a chain of follow-ups back to the question that names the subject', () => {
    const history = chat(
      ['Human', 'Tell me about penguins'],
      ['Human', 'Who was the president of France in 1980?'],
      ['Assistant', 'Valéry Giscard d’Estaing.'],
      ['Human', 'and in 1990?'],
      ['Assistant', 'François Mitterrand.'],
      ['Human', 'What about 2000?'],
    );
    expect(queryOf(history)).toBe('Who was the president of France in 1980? and in 1990? What about 2000?');
  });

  it('reads pronouns pointing back as a follow-up', () => {
    const history = chat(['Human', 'What is the tallest building in Europe?'], ['Human', 'How tall is it exactly?']);
    expect(queryOf(history)).toBe('What is the tallest building in Europe? How tall is it exactly?');
  });

  it('uses the follow-up alone when nothing came before it', () => {
    expect(queryOf(chat(['Human', 'and in 1990?']))).toBe('and in 1990?');
  });

  it('keeps the query short: long messages are cut at a word boundary', () => {
    const long = `Why ${'very '.repeat(200)}long?`;
    const query = queryOf(chat(['Human', long]));
    expect(query.length).toBeLessThanOrEqual(300);
    expect(query).toMatch(/^Why very very/);
    expect(query.endsWith(' ')).toBe(false);
  });

  it.each([
    ['and in 1990?', true],
    ['what about Spain?', true],
    ['Is it safe?', true],
    ['Who won the World Cup in 1986?', false],
    ['What is the capital of the country that hosted the 2016 Olympics?', false],
  ])('isFollowUp(%j) is %s', (text, expected) => {
    expect(isFollowUp(text)).toBe(expected);
  });
});

describe('groundedSystemPrompt', () => {
  const today = new Date('2026-11-28T10:00:00Z');

  it('gives the date, the instruction to cite by number, and every numbered source', () => {
    const prompt = groundedSystemPrompt(
      'Be brief.',
      {
        query: 'world cup 1990',
        sources: [
          { index: 1, title: 'FIFA', url: 'https://fifa.test/1990', snippet: 'West Germany won.' },
          { index: 2, title: 'Wiki', url: 'https://wiki.test/1990', snippet: 'Final in Rome.' },
        ],
        error: null,
      },
      today,
    );
    expect(prompt.startsWith('Be brief.\n\n')).toBe(true);
    expect(prompt).toContain("Today's date is 2026-11-28.");
    expect(prompt).toMatch(/Cite the results you use inline by their number in square brackets, like \[1\]/);
    expect(prompt).toContain('Web search results for "world cup 1990":');
    expect(prompt).toContain('[1] FIFA (https://fifa.test/1990)\nWest Germany won.');
    expect(prompt).toContain('[2] Wiki (https://wiki.test/1990)\nFinal in Rome.');
  });

  it('says that the search failed, and asks for no citations, when there are no sources', () => {
    const prompt = groundedSystemPrompt(
      'Be brief.',
      { query: 'q', sources: [], error: { code: 'SEARCH_TIMEOUT', detail: 'Web search did not answer in time' } },
      today,
    );
    expect(prompt).toContain("Today's date is 2026-11-28.");
    expect(prompt).toContain('do not cite sources');
    expect(prompt).not.toMatch(/\[1\]/);
  });
});

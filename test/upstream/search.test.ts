import { describe, expect, it } from 'vitest';
import { SearchError, sourcesOf } from '../../src/upstream/search.ts';

const metadata = { search_metadata: { status: 'Success', google_url: 'https://www.google.com/search?q=x' } };

describe('sourcesOf (SerpAPI Google results → numbered sources)', () => {
  it('numbers the answer box, the knowledge graph, then the top organic results', () => {
    const sources = sourcesOf(
      {
        ...metadata,
        answer_box: { type: 'organic_result', title: 'Boiling point', answer: '100 °C', link: 'https://water.test/boiling' },
        knowledge_graph: {
          title: 'Water',
          type: 'Chemical compound',
          description: 'Water is an inorganic compound.',
          source: { name: 'Wikipedia', link: 'https://wiki.test/Water' },
        },
        organic_results: [1, 2, 3, 4].map((n) => ({ position: n, title: `T${n}`, link: `https://o${n}.test/`, snippet: `S${n}` })),
      },
      2,
    );
    expect(sources).toEqual([
      { index: 1, title: 'Boiling point', url: 'https://water.test/boiling', snippet: '100 °C' },
      { index: 2, title: 'Water', url: 'https://wiki.test/Water', snippet: 'Chemical compound: Water is an inorganic compound.' },
      { index: 3, title: 'T1', url: 'https://o1.test/', snippet: 'S1' },
      { index: 4, title: 'T2', url: 'https://o2.test/', snippet: 'S2' },
    ]);
  });

  it('merges results with the same URL (fragment, host case and trailing slash aside), keeping both snippets', () => {
    const sources = sourcesOf(
      {
        ...metadata,
        answer_box: { title: 'Answer', snippet: 'From the box.', link: 'https://Same.test/page#section' },
        organic_results: [
          { title: 'Same page', link: 'https://same.test/page/', snippet: 'From the list.' },
          { title: 'Other', link: 'https://other.test/', snippet: 'Other text.' },
          { title: 'Same again', link: 'https://same.test/page', snippet: 'From the list.' },
        ],
      },
      5,
    );
    expect(sources).toEqual([
      { index: 1, title: 'Answer', url: 'https://Same.test/page#section', snippet: 'From the box. … From the list.' },
      { index: 2, title: 'Other', url: 'https://other.test/', snippet: 'Other text.' },
    ]);
  });

  it('uses the Google URL for an answer box without a link, and lists as text', () => {
    const [source] = sourcesOf({ ...metadata, answer_box: { title: 'Steps', list: ['Boil', 'Pour'] } }, 5);
    expect(source).toEqual({ index: 1, title: 'Steps', url: 'https://www.google.com/search?q=x', snippet: 'Boil; Pour' });
  });

  it('skips blocks and results of an unexpected shape instead of failing', () => {
    const sources = sourcesOf(
      {
        ...metadata,
        answer_box: 'not an object',
        knowledge_graph: { title: 'No link' },
        organic_results: [
          { title: 'No link' },
          { title: 'Bad link', link: 'javascript:alert(1)' },
          { title: 'Ok', link: 'https://ok.test/' },
        ],
      },
      5,
    );
    expect(sources).toEqual([{ index: 1, title: 'Ok', url: 'https://ok.test/', snippet: '' }]);
  });

  it('cuts long snippets', () => {
    const [source] = sourcesOf({ organic_results: [{ title: 'Long', link: 'https://l.test/', snippet: 'word '.repeat(500) }] }, 5);
    expect(source!.snippet.length).toBeLessThanOrEqual(600);
    expect(source!.snippet.endsWith('…')).toBe(true);
  });

  it.each([
    ['no results', { ...metadata, error: "Google hasn't returned any results for this query." }, 'SEARCH_NO_RESULTS'],
    ['nothing usable', { ...metadata, organic_results: [] }, 'SEARCH_NO_RESULTS'],
    ['not an object', ['a', 'list'], 'SEARCH_MALFORMED'],
    ['organic results not a list', { organic_results: { title: 'x' } }, 'SEARCH_MALFORMED'],
  ])('throws a SearchError for %s', (_name, response, code) => {
    expect(() => sourcesOf(response, 5)).toThrow(expect.objectContaining({ code }));
    expect(() => sourcesOf(response, 5)).toThrow(SearchError);
  });
});

describe('sourcesOf leniency', () => {
  it('reads the results even when a metadata field is of an unexpected shape', () => {
    const sources = sourcesOf(
      {
        search_metadata: { google_url: 'not a url' },
        search_parameters: { q: 42 },
        organic_results: [{ title: 'Ok', link: 'https://ok.test/' }],
      },
      5,
    );
    expect(sources).toEqual([{ index: 1, title: 'Ok', url: 'https://ok.test/', snippet: '' }]);
  });
});

import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { LRUCache } from 'lru-cache';
import { getJson } from 'serpapi';
import { z } from 'zod';
import type { SearchConfig } from '../config.ts';

/** A numbered web result given to the model; the answer cites it as `[index]`. */
export interface Source {
  index: number;
  title: string;
  url: string;
  snippet: string;
}

export type SearchErrorCode =
  | 'SEARCH_UNAUTHORIZED'
  | 'SEARCH_QUOTA_EXCEEDED'
  | 'SEARCH_TIMEOUT'
  | 'SEARCH_NO_RESULTS'
  | 'SEARCH_MALFORMED'
  | 'SEARCH_FAILED';

/** Why a search gave no sources, with the sentence the listener is told. */
export class SearchError extends Error {
  override name = 'SearchError';
  constructor(
    readonly code: SearchErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface WebSearch {
  /** The sources for `query`, numbered from 1; throws a SearchError when there are none to give. */
  search(query: string): Promise<Source[]>;
}

/** The longest snippet given to the model: a handful of sources must not crowd out the chat history. */
const MAX_SNIPPET_CHARS = 600;
const MAX_CACHED_QUERIES = 1_000;

/**
 * Google results through SerpAPI's `serpapi` package. Identical queries within `cacheTtlMs` share
 * one search, including searches still in flight; failures are not cached.
 */
export function createWebSearch(config: SearchConfig | null): WebSearch | null {
  if (!config) return null;
  const agent = new BaseUrlAgent(config.baseUrl, {
    keepAlive: true,
    ca: config.extraCa ? [...rootCertificates, config.extraCa] : undefined,
  });
  const searchOnce = async (query: string): Promise<Source[]> => {
    let response: unknown;
    try {
      response = await getJson('google', {
        q: query,
        api_key: config.apiKey,
        num: config.organicResults,
        timeout: config.timeoutMs,
        requestOptions: { agent, headers: { host: config.baseUrl.host } },
      });
    } catch (error) {
      throw toSearchError(error);
    }
    return sourcesOf(response, config.organicResults);
  };
  if (config.cacheTtlMs === 0) return { search: searchOnce };
  const cache = new LRUCache<string, Source[], string>({
    max: MAX_CACHED_QUERIES,
    ttl: config.cacheTtlMs,
    fetchMethod: (_key, _stale, { context }) => searchOnce(context),
  });
  return {
    search: async (query) => (await cache.fetch(cacheKey(query), { context: query }))!,
  };
}

/** Queries differing only in case or spacing are the same search to Google. */
function cacheKey(query: string): string {
  return query.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The `serpapi` package always connects to serpapi.com:443; this agent sends its requests to the
 * configured origin instead (a proxy or a stand-in), with that origin's name for TLS and `Host`.
 */
class BaseUrlAgent extends Agent {
  constructor(
    private readonly baseUrl: URL,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: object, callback?: (error: Error | null, socket: Duplex) => void): Duplex {
    const port = Number(this.baseUrl.port || 443);
    // biome-ignore lint/suspicious/noExplicitAny: https.Agent's createConnection is untyped in @types/node
    return (Agent.prototype as any).createConnection.call(this, { ...options, host: this.baseUrl.hostname, port }, callback);
  }
}

/**
 * The package rejects with the response body (a string) when the status is not 200, so SerpAPI's
 * `error` sentence is all there is to tell a bad key from an exhausted plan.
 */
function toSearchError(error: unknown): SearchError {
  if (typeof error === 'string') {
    const message = serpApiErrorMessage(error) ?? `SerpAPI answered with an error: ${error.slice(0, 200)}`;
    return new SearchError(classify(message), `Web search failed: ${message}`);
  }
  if (error instanceof SyntaxError) return new SearchError('SEARCH_MALFORMED', 'Web search answered with malformed JSON');
  // The package does not export its RequestTimeoutError class (nor give it a name).
  if (error instanceof Error && error.constructor.name === 'RequestTimeoutError') {
    return new SearchError('SEARCH_TIMEOUT', 'Web search did not answer in time');
  }
  return new SearchError('SEARCH_FAILED', `Web search could not be reached: ${(error as Error).message}`);
}

function serpApiErrorMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

function classify(message: string): SearchErrorCode {
  if (/api key/i.test(message)) return 'SEARCH_UNAUTHORIZED';
  if (/run out of searches|searches (per hour|limit)|throughput|too many requests|rate limit/i.test(message)) {
    return 'SEARCH_QUOTA_EXCEEDED';
  }
  if (/hasn't returned any results/i.test(message)) return 'SEARCH_NO_RESULTS';
  return 'SEARCH_FAILED';
}

// SerpAPI's Google results, reduced to what becomes a source. Each block is read leniently: a block
// of an unexpected shape is skipped, not fatal.
const Text = z.string().trim().min(1);
const Link = z.url({ protocol: /^https?$/ });
const AnswerBox = z.object({
  title: Text.optional(),
  link: Link.optional(),
  answer: Text.optional(),
  result: Text.optional(),
  snippet: Text.optional(),
  list: z.array(z.string()).optional(),
});
const KnowledgeGraph = z.object({
  title: Text,
  type: Text.optional(),
  description: Text.optional(),
  website: Link.optional(),
  source: z.object({ link: Link }).partial().optional(),
});
const OrganicResult = z.object({ title: Text, link: Link, snippet: Text.optional() });
const SearchResponse = z.object({
  error: z.string().optional(),
  search_metadata: z.object({ google_url: Link.optional() }).partial().optional(),
  search_parameters: z.object({ q: z.string() }).partial().optional(),
  answer_box: z.unknown().optional(),
  knowledge_graph: z.unknown().optional(),
  organic_results: z.array(z.unknown()).optional(),
});

type Candidate = Omit<Source, 'index'>;

/** answer_box, knowledge_graph, then the top organic results, numbered; duplicates by URL merged. */
export function sourcesOf(response: unknown, organicResults: number): Source[] {
  const parsed = SearchResponse.safeParse(response);
  if (!parsed.success) throw new SearchError('SEARCH_MALFORMED', 'Web search answered with an unexpected document');
  const { data } = parsed;
  const candidates: Candidate[] = [];
  const answerBox = AnswerBox.safeParse(data.answer_box);
  if (data.answer_box !== undefined && answerBox.success) {
    const box = answerBox.data;
    const snippet = box.answer ?? box.result ?? box.snippet ?? box.list?.join('; ');
    const url = box.link ?? data.search_metadata?.google_url;
    if (snippet && url) candidates.push({ title: box.title ?? data.search_parameters?.q ?? 'Answer', url, snippet });
  }
  const graph = KnowledgeGraph.safeParse(data.knowledge_graph);
  if (data.knowledge_graph !== undefined && graph.success) {
    const { title, type, description, website, source } = graph.data;
    const url = source?.link ?? website;
    const snippet = [type, description].filter(Boolean).join(': ');
    if (url && snippet) candidates.push({ title, url, snippet });
  }
  const organic = (data.organic_results ?? []).flatMap((item) => {
    const result = OrganicResult.safeParse(item);
    return result.success ? [{ title: result.data.title, url: result.data.link, snippet: result.data.snippet ?? '' }] : [];
  });
  candidates.push(...organic.slice(0, organicResults));

  const sources = mergeByUrl(candidates).map((candidate, position) => ({
    index: position + 1,
    ...candidate,
    snippet: truncate(candidate.snippet, MAX_SNIPPET_CHARS),
  }));
  if (sources.length > 0) return sources;
  if (data.error) throw new SearchError(classify(data.error), `Web search failed: ${data.error}`);
  throw new SearchError('SEARCH_NO_RESULTS', 'Web search found nothing for this question');
}

function mergeByUrl(candidates: Candidate[]): Candidate[] {
  const byUrl = new Map<string, Candidate>();
  for (const candidate of candidates) {
    const key = normalizeUrl(candidate.url);
    const seen = byUrl.get(key);
    if (!seen) {
      byUrl.set(key, { ...candidate });
    } else if (candidate.snippet && !seen.snippet.includes(candidate.snippet)) {
      seen.snippet = seen.snippet ? `${seen.snippet} … ${candidate.snippet}` : candidate.snippet;
    }
  }
  return [...byUrl.values()];
}

/** The same page, whatever the fragment, the host's case or a trailing slash. */
function normalizeUrl(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  const text = parsed.toString();
  return text.endsWith('/') ? text.slice(0, -1) : text;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

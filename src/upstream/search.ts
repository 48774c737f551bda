import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import { getJson } from 'serpapi';
import { z } from 'zod';
import type { SearchConfig } from '../config.ts';
import type { Metrics } from '../observability/metrics.ts';

/** A numbered web result given to the model; the answer cites it as `[index]`. */
export const SourceModel = z.object({ index: z.int(), title: z.string(), url: z.string(), snippet: z.string() });
export type Source = z.infer<typeof SourceModel>;

/** What the listener is told for each way a search can fail; the specifics go to the log only. */
const SEARCH_ERROR_DETAILS = {
  SEARCH_UNAUTHORIZED: "Web search refused the gateway's API key",
  SEARCH_QUOTA_EXCEEDED: "The gateway's web search quota is used up",
  SEARCH_TIMEOUT: 'Web search did not answer in time',
  SEARCH_NO_RESULTS: 'Web search found nothing for this question',
  SEARCH_MALFORMED: 'Web search answered with a malformed document',
  SEARCH_FAILED: 'Web search failed',
} as const;

export type SearchErrorCode = keyof typeof SEARCH_ERROR_DETAILS;
export const SEARCH_ERROR_CODES = Object.keys(SEARCH_ERROR_DETAILS) as SearchErrorCode[];

/** Why a search gave no sources: `message` is for the listener, `reason` (if any) for the operator's log. */
export class SearchError extends Error {
  override name = 'SearchError';
  constructor(
    readonly code: SearchErrorCode,
    readonly reason?: string,
  ) {
    super(SEARCH_ERROR_DETAILS[code]);
  }
}

export interface WebSearch {
  /** The sources for `query`, numbered from 1; throws a SearchError when there are none to give. */
  search(query: string): Promise<Source[]>;
  /** Ends searches in flight and closes idle connections (shutdown). */
  close(): void;
}

/** Spans of searches, when tracing is on (a no-op otherwise). */
const tracer = trace.getTracer('chat-gateway');

/** The longest snippet given to the model: a handful of sources must not crowd out the chat history. */
const MAX_SNIPPET_CHARS = 600;
const MAX_CACHED_QUERIES = 1_000;

/** A cache that several instances share: `get` answers from it, or runs `search` and shares its result. */
export interface SharedCache {
  get(query: string, search: () => Promise<Source[]>): Promise<{ sources: Source[]; ttlMs: number }>;
}

/**
 * Google results through SerpAPI's `serpapi` package. Identical queries within `cacheTtlMs` share
 * one search, including searches still in flight; failures are not cached. With a `shared` cache,
 * searches are shared with other instances too (this process keeps what it read for as long as the
 * shared entry lives).
 */
export function createWebSearch(
  config: SearchConfig | null,
  metrics: Pick<Metrics, 'searched' | 'searchCacheHit'>,
  shared: SharedCache | null = null,
): WebSearch | null {
  if (!config) return null;
  const agent = new BaseUrlAgent(config.baseUrl, {
    keepAlive: true,
    ca: config.extraCa ? [...rootCertificates, config.extraCa] : undefined,
  });
  const requestSources = async (query: string): Promise<Source[]> => {
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
  const spanOptions = { kind: SpanKind.CLIENT, attributes: { 'server.address': config.baseUrl.hostname } };
  const searchOnce = (query: string): Promise<Source[]> =>
    tracer.startActiveSpan('SerpAPI search', spanOptions, async (span) => {
      try {
        const sources = await requestSources(query);
        metrics.searched('ok');
        return sources;
      } catch (error) {
        const code = error instanceof SearchError ? error.code : 'SEARCH_FAILED';
        metrics.searched(code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        throw error;
      } finally {
        span.end();
      }
    });
  const close = () => agent.destroy();
  if (config.cacheTtlMs === 0) return { search: searchOnce, close };
  const cache = new LRUCache<string, Source[], string>({
    max: MAX_CACHED_QUERIES,
    ttl: config.cacheTtlMs,
    // A search evicted while in flight still answers the listeners waiting for it.
    ignoreFetchAbort: true,
    fetchMethod: async (key, _stale, { context, options }) => {
      if (!shared) return searchOnce(context);
      const { sources, ttlMs } = await shared.get(key, () => searchOnce(context));
      options.ttl = ttlMs;
      return sources;
    },
  });
  return {
    search: async (query) => {
      const status: LRUCache.Status<string, Source[], string> = {};
      const sources = await cache.fetch(cacheKey(query), { context: query, status });
      if (status.fetch === 'hit' || status.fetch === 'inflight') metrics.searchCacheHit();
      return sources!;
    },
    close,
  };
}

/** Queries differing only in case or spacing are the same search to Google. */
function cacheKey(query: string): string {
  return query.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The `serpapi` package always connects to serpapi.com:443; this agent sends its requests to the
 * configured origin instead (a reverse proxy or a stand-in), with that origin's name for TLS and `Host`.
 */
class BaseUrlAgent extends Agent {
  constructor(
    private readonly baseUrl: URL,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: (error: Error | null, socket: Duplex) => void) {
    const port = Number(this.baseUrl.port || 443);
    return super.createConnection({ ...options, host: this.baseUrl.hostname, port }, callback);
  }
}

/**
 * The package rejects with the response body (a string) when the status is not 200, so SerpAPI's
 * `error` sentence is all there is to tell a bad key from an exhausted plan.
 */
function toSearchError(error: unknown): SearchError {
  if (typeof error === 'string') {
    const message = serpApiErrorMessage(error) ?? `an error answer without a SerpAPI error: ${error.slice(0, 200)}`;
    return new SearchError(classify(message), `SerpAPI: ${message}`);
  }
  if (error instanceof SyntaxError) return new SearchError('SEARCH_MALFORMED', `SerpAPI sent malformed JSON: ${error.message}`);
  // The package does not export its RequestTimeoutError class, nor give it a name.
  if (error instanceof Error && error.message === 'The request was timed out') return new SearchError('SEARCH_TIMEOUT');
  return new SearchError('SEARCH_FAILED', `SerpAPI could not be reached: ${(error as Error).message}`);
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
// or field of an unexpected shape is skipped, not fatal.
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
  search_metadata: z
    .object({ google_url: Link.optional().catch(undefined) })
    .optional()
    .catch(undefined),
  search_parameters: z
    .object({ q: z.string().optional().catch(undefined) })
    .optional()
    .catch(undefined),
  answer_box: z.unknown().optional(),
  knowledge_graph: z.unknown().optional(),
  organic_results: z.array(z.unknown()).optional(),
});

type Candidate = Omit<Source, 'index'>;

/** answer_box, knowledge_graph, then the top organic results, numbered; duplicates by URL merged. */
export function sourcesOf(response: unknown, organicResults: number): Source[] {
  const parsed = SearchResponse.safeParse(response);
  if (!parsed.success) throw new SearchError('SEARCH_MALFORMED', 'SerpAPI sent a document that is not a results page');
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
  if (data.error) throw new SearchError(classify(data.error), `SerpAPI: ${data.error}`);
  throw new SearchError('SEARCH_NO_RESULTS');
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

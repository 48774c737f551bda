/**
 * A stand-in for SerpAPI's Google Search API (`GET /search?engine=google&q=…&api_key=…&output=json`)
 * over real HTTPS, with a certificate made when it starts, so tests exercise the real `serpapi`
 * package, TLS and all. Documents follow SerpAPI's published Google results (search_metadata,
 * search_parameters, search_information, answer_box, knowledge_graph, organic_results) and its error
 * answers (`{"error": "…"}` with the HTTP status SerpAPI uses).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface OrganicResult {
  title: string;
  link: string;
  snippet?: string;
}

/** The parts of a Google results page the gateway reads; everything else is filled in realistically. */
export interface ResultsPage {
  answerBox?: Record<string, unknown>;
  knowledgeGraph?: Record<string, unknown>;
  organic?: readonly OrganicResult[];
}

/** SerpAPI's answers to a failed search, status and `error` text as it sends them. */
export const SERPAPI_ERRORS = {
  invalidKey: { status: 401, error: 'Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key' },
  outOfSearches: { status: 429, error: 'Your account has run out of searches.' },
  internal: { status: 500, error: 'Internal error: something went wrong on our side. Please retry.' },
} as const;

export type SerpBehaviour =
  /** A results page (the default: three organic results derived from the query), after `delayMs`. */
  | ({ kind: 'results'; delayMs?: number } & ResultsPage)
  /** `{"error": …}` with that status. */
  | { kind: 'error'; errorType: keyof typeof SERPAPI_ERRORS }
  /** 200 with Google's "no results" error and an empty organic state, as SerpAPI answers it. */
  | { kind: 'no-results' }
  /** 200 with a body cut off in the middle of the JSON. */
  | { kind: 'malformed' }
  /** Accepts the request and never answers (until the client hangs up). */
  | { kind: 'stall' };

export interface SerpRequest {
  /** The query parameters, as sent. */
  params: Record<string, string>;
  host: string | undefined;
  behaviour: SerpBehaviour;
}

export interface SerpApiStandin {
  /** `https://localhost:PORT`, for SERPAPI_BASE_URL: a name, so that TLS checks it as it would serpapi.com. */
  readonly url: string;
  /** A file holding the certificate (PEM) clients must trust, for SERPAPI_CA_FILE. */
  readonly caFile: string;
  /** The only key it accepts; any other gets SerpAPI's 401. */
  readonly apiKey: string;
  readonly requests: readonly SerpRequest[];
  /** Queues behaviours, each used by exactly one upcoming search, first in first out. */
  script(...behaviours: SerpBehaviour[]): void;
  close(): Promise<void>;
}

/** The results page the stand-in answers `q` with when nothing is scripted. */
export function defaultPage(q: string): ResultsPage {
  const slug = encodeURIComponent(q.toLowerCase().replace(/\W+/g, '-'));
  return {
    organic: [1, 2, 3].map((n) => ({
      title: `Result ${n} for ${q}`,
      link: `https://example${n}.test/${slug}`,
      snippet: `Snippet ${n} about ${q}.`,
    })),
  };
}

export async function startSerpApiStandin(options: { apiKey?: string } = {}): Promise<SerpApiStandin> {
  const apiKey = options.apiKey ?? `test-${randomBytes(8).toString('hex')}`;
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const queue: SerpBehaviour[] = [];
  const requests: SerpRequest[] = [];

  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://standin');
    const params = Object.fromEntries(url.searchParams);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || url.pathname !== '/search') {
      json(404, { error: 'Not found' });
      return;
    }
    if (params.api_key !== apiKey) {
      requests.push({ params, host: req.headers.host, behaviour: { kind: 'error', errorType: 'invalidKey' } });
      json(SERPAPI_ERRORS.invalidKey.status, { error: SERPAPI_ERRORS.invalidKey.error });
      return;
    }
    const q = params.q ?? '';
    const behaviour = queue.shift() ?? { kind: 'results', ...defaultPage(q) };
    requests.push({ params, host: req.headers.host, behaviour });
    switch (behaviour.kind) {
      case 'results':
        setTimeout(() => json(200, resultsDocument(params, behaviour)), behaviour.delayMs ?? 0);
        return;
      case 'error':
        json(SERPAPI_ERRORS[behaviour.errorType].status, { error: SERPAPI_ERRORS[behaviour.errorType].error });
        return;
      case 'no-results':
        json(200, {
          ...resultsDocument(params, {}),
          search_information: { query_displayed: q, organic_results_state: 'Fully empty' },
          error: "Google hasn't returned any results for this query.",
        });
        return;
      case 'malformed': {
        const body = JSON.stringify(resultsDocument(params, defaultPage(q)));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(body.slice(0, Math.floor(body.length / 2)));
        return;
      }
      case 'stall':
        return;
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const folder = await mkdtemp(join(tmpdir(), 'serpapi-standin-'));
  const caFile = join(folder, 'ca.pem');
  await writeFile(caFile, pems.cert);
  return {
    url: `https://localhost:${port}`,
    caFile,
    apiKey,
    requests,
    script: (...behaviours) => {
      queue.push(...behaviours);
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await rm(folder, { recursive: true, force: true });
    },
  };
}

function resultsDocument(params: Record<string, string>, page: ResultsPage) {
  const id = randomBytes(12).toString('hex');
  const q = params.q ?? '';
  const now = new Date().toISOString().replace('T', ' ').slice(0, 19);
  return {
    search_metadata: {
      id,
      status: 'Success',
      json_endpoint: `https://serpapi.com/searches/${id.slice(0, 16)}/${id}.json`,
      created_at: `${now} UTC`,
      processed_at: `${now} UTC`,
      google_url: `https://www.google.com/search?q=${encodeURIComponent(q)}&oq=${encodeURIComponent(q)}&num=${params.num ?? 10}&sourceid=chrome&ie=UTF-8`,
      raw_html_file: `https://serpapi.com/searches/${id.slice(0, 16)}/${id}.html`,
      total_time_taken: 1.12,
    },
    search_parameters: { engine: params.engine, q, google_domain: 'google.com', num: params.num, device: 'desktop' },
    search_information: {
      query_displayed: q,
      total_results: 1_250_000,
      time_taken_displayed: 0.41,
      organic_results_state: 'Results for exact spelling',
    },
    ...(page.answerBox ? { answer_box: page.answerBox } : {}),
    ...(page.knowledgeGraph ? { knowledge_graph: page.knowledgeGraph } : {}),
    organic_results: (page.organic ?? []).map((result, index) => ({
      position: index + 1,
      title: result.title,
      link: result.link,
      redirect_link: `https://www.google.com/url?sa=t&url=${encodeURIComponent(result.link)}`,
      displayed_link: result.link.replace(/^https?:\/\//, ''),
      favicon: 'https://serpapi.com/searches/favicon.png',
      ...(result.snippet === undefined ? {} : { snippet: result.snippet }),
      source: new URL(result.link).hostname,
    })),
  };
}

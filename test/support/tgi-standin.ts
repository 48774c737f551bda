/**
 * A stand-in for Hugging Face Text Generation Inference (TGI) speaking its Messages API
 * (`POST /v1/chat/completions`) over real HTTP, so tests exercise the real client, sockets and SSE
 * parsing. Wire shapes follow TGI's router and the chunks recorded by TGI's own integration tests
 * (copied to test/fixtures/tgi-streams, see its README).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** `error_type` values TGI puts in `ErrorResponse`, with the status and text its router uses. */
export const TGI_ERRORS = {
  validation: {
    status: 422,
    error:
      'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 1024 `max_new_tokens`',
  },
  generation: { status: 424, error: 'Request failed during generation: Server error: CUDA out of memory' },
  overloaded: { status: 429, error: 'Model is overloaded' },
  incomplete_generation: { status: 500, error: 'Incomplete generation' },
} as const satisfies Record<string, { status: number; error: string }>;

export type TgiErrorType = keyof typeof TGI_ERRORS;

/** TGI's `ErrorResponse`, both as an HTTP error body and as an in-stream error event. */
export interface TgiErrorBody {
  error: string;
  error_type: string;
}

export interface Pacing {
  /** Delay before the first chunk (time to first token). Default 0. */
  firstTokenDelayMs?: number;
  /** Delay between consecutive chunks. Default 0: everything is written at once. */
  intervalMs?: number;
}

export type TgiBehaviour =
  /** Replays `<recordingsDir>/<recording>.json` chunk by chunk, each chunk's JSON as recorded. */
  | { kind: 'replay'; recording: string; pacing?: Pacing }
  /**
   * Streams the token texts as TGI chunks. `finishReason` 'stop' (default) adds TGI's empty EOS chunk;
   * 'length', or reaching the request's `max_tokens`, puts the finish reason on the last token.
   * The usage chunk follows the request's `stream_options.include_usage` unless `includeUsage` is set.
   */
  | {
      kind: 'tokens';
      tokens: readonly string[];
      finishReason?: 'stop' | 'length';
      includeUsage?: boolean;
      promptTokens?: number;
      pacing?: Pacing;
    }
  /** JSON `ErrorResponse` instead of a stream. `status` defaults to TGI's status for the type. */
  | { kind: 'http-error'; errorType: TgiErrorType; status?: number; message?: string }
  /** Streams `afterTokens`, then TGI's in-stream error event, then `[DONE]`. */
  | { kind: 'error-frame'; afterTokens: readonly string[]; errorType: TgiErrorType; message?: string; pacing?: Pacing }
  /** Streams `afterTokens`, then destroys the socket at the next chunk slot. */
  | { kind: 'drop'; afterTokens: readonly string[]; pacing?: Pacing }
  /** Streams `afterTokens`, then sends nothing more until the client hangs up. */
  | { kind: 'stall'; afterTokens: readonly string[]; pacing?: Pacing }
  /** Sends the 200 headers, then nothing until the client hangs up. */
  | { kind: 'no-first-token' };

/** The request body as TGI's `ChatRequest` sees it; only the fields the stand-in reads are typed. */
export interface TgiChatRequest {
  model?: string;
  messages: { role: string; content?: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  [field: string]: unknown;
}

/** One `POST /v1/chat/completions`. Times are `performance.now()` milliseconds. */
export interface RecordedRequest {
  readonly index: number;
  readonly body: TgiChatRequest;
  readonly headers: IncomingHttpHeaders;
  readonly behaviour: TgiBehaviour;
  readonly receivedAt: number;
  /** When the first token chunk was written. */
  readonly firstTokenAt?: number;
  /** Token chunks written (chunks carrying choices; not usage, error or `[DONE]` frames). */
  readonly tokensSent: number;
  /** The response was completely written and ended. */
  readonly finished: boolean;
  /** The client hung up before the response was finished. */
  readonly clientClosed: boolean;
  /** When the response closed, whatever the cause. */
  readonly closedAt?: number;
}

/** A behaviour, or a function choosing one for each request (e.g. taking recordings in turn). */
export type DefaultBehaviour = TgiBehaviour | (() => TgiBehaviour);

export interface TgiStandinOptions {
  /** Behaviour for requests when nothing is queued with `script()`. */
  defaultBehaviour?: DefaultBehaviour;
  /** Where to listen; default 127.0.0.1 on a free port. */
  host?: string;
  port?: number;
  modelId?: string;
  systemFingerprint?: string;
  recordingsDir?: string;
  /**
   * TGI (axum `KeepAlive::default()`) writes a `:` comment after 15 s without an event, so a stalled
   * TGI is silent at the event level but not at the byte level. 0 disables it.
   */
  keepAliveMs?: number;
  /**
   * One timer for every paced stream instead of one per stream: each stream writes its next step on
   * the first tick at or after its due time, as TGI's continuous batching yields one token per
   * sequence per forward pass. Benchmarks use it so that 1,000 streams cost one timer, not 1,000.
   */
  sharedTickMs?: number;
  /**
   * Rewrites each token's text as its chunk is written (benchmarks stamp the write time into it to
   * measure per-token latency across processes). Times are this process's `performance.now()`.
   */
  stampToken?: (text: string, timing: TokenTiming) => string;
}

export interface TokenTiming {
  /** When the request arrived. */
  receivedAt: number;
  /** When this token's chunk is written. */
  sentAt: number;
}

export interface TgiStandin {
  /** `http://HOST:PORT`, to pass as `endpointUrl`. */
  readonly url: string;
  /** Chat-completion requests received, in arrival order (`/health` and `/info` are not recorded). */
  readonly requests: readonly RecordedRequest[];
  /** Queues behaviours, each used by exactly one upcoming request, first in first out. */
  script(...behaviours: TgiBehaviour[]): void;
  /** Behaviour for requests arriving while the queue is empty. */
  setDefault(behaviour: DefaultBehaviour): void;
  /** Resolves once at least `n` requests have arrived. */
  waitForRequests(n: number): Promise<readonly RecordedRequest[]>;
  /** Resolves when request `index` is hung up by the client; rejects if it ends any other way. */
  waitForClientClose(index: number): Promise<RecordedRequest>;
  /** Ends every open stream and stops listening. */
  close(): Promise<void>;
}

/** Copies of TGI's own recorded streams (Apache-2.0, see the folder's README). */
export const DEFAULT_RECORDINGS_DIR = fileURLToPath(new URL('../fixtures/tgi-streams', import.meta.url));

const recordingCache = new Map<string, readonly Record<string, unknown>[]>();

/** The chunks of a recorded stream, parsed, in wire order. */
export function loadRecording(name: string, dir = DEFAULT_RECORDINGS_DIR): readonly Record<string, unknown>[] {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`invalid recording name: ${name}`);
  const path = join(dir, `${name}.json`);
  let chunks = recordingCache.get(path);
  if (!chunks) {
    chunks = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
    recordingCache.set(path, chunks);
  }
  return chunks;
}

/** The assistant text a recorded stream spells out, as a client would concatenate it. */
export function recordedContent(name: string, dir = DEFAULT_RECORDINGS_DIR): string {
  return loadRecording(name, dir)
    .flatMap((chunk) => (chunk.choices as { delta: { content?: string | null } }[]).map((c) => c.delta.content ?? ''))
    .join('');
}

/** What one slot writes: fixed frames, or frames rendered at write time (stamped tokens). */
type Frames = string | ((timing: TokenTiming) => string);

/** One paced slot of a stream: frames to write, or the connection drop. */
type Step = { data: Frames; tokens: number } | { drop: true };

interface StreamPlan {
  steps: Step[];
  /** After the last step: end the response, or hold it open until the client leaves. */
  ending: 'end' | 'hold';
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

const sse = (payload: string) => `data: ${payload}\n\n`;
const DONE = sse('[DONE]');

export async function startTgiStandin(options: TgiStandinOptions = {}): Promise<TgiStandin> {
  const modelId = options.modelId ?? 'meta-llama/Llama-3.1-8B-Instruct';
  const systemFingerprint = options.systemFingerprint ?? '3.3.6-dev0-native';
  const recordingsDir = options.recordingsDir ?? DEFAULT_RECORDINGS_DIR;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const host = options.host ?? '127.0.0.1';

  const validate = (behaviour: TgiBehaviour): TgiBehaviour => {
    if (behaviour.kind === 'replay') loadRecording(behaviour.recording, recordingsDir);
    return behaviour;
  };

  const validateDefault = (behaviour: DefaultBehaviour): DefaultBehaviour =>
    typeof behaviour === 'function' ? () => validate(behaviour()) : validate(behaviour);
  let defaultBehaviour = validateDefault(
    options.defaultBehaviour ?? { kind: 'tokens', tokens: ['Hello', ' from', ' the', ' TGI', ' stand', '-in', '.'] },
  );
  const queue: TgiBehaviour[] = [];
  const requests: MutableRecord[] = [];
  const stopTimers = new Set<() => void>();
  const waiters = new Set<() => boolean>();
  let closing = false;

  // Waiters re-check their condition on every state change, so tests never poll.
  const notify = () => {
    for (const settled of waiters) if (settled()) waiters.delete(settled);
  };
  const addWaiter = (settled: () => boolean) => {
    if (!settled()) waiters.add(settled);
  };

  // TGI serializes chunks through `#[serde(tag = "object")] enum CompletionType`, so "object" comes first.
  const chunk = (created: number, choices: unknown[], usage: unknown = null) =>
    JSON.stringify({
      object: 'chat.completion.chunk',
      id: '',
      created,
      model: modelId,
      system_fingerprint: systemFingerprint,
      choices,
      usage,
    });
  const tokenChunk = (created: number, content: string, finishReason: string | null) =>
    chunk(created, [{ index: 0, delta: { role: 'assistant', content, tool_calls: null }, logprobs: null, finish_reason: finishReason }]);
  const stampToken = options.stampToken;
  const tokenFrames = (created: number, text: string, finishReason: string | null): Frames =>
    stampToken
      ? (timing) => sse(tokenChunk(created, stampToken(text, timing), finishReason))
      : sse(tokenChunk(created, text, finishReason));
  const tokenSteps = (created: number, tokens: readonly string[]): Step[] =>
    tokens.map((t) => ({ data: tokenFrames(created, t, null), tokens: 1 }));
  const errorBody = (errorType: TgiErrorType, message?: string): TgiErrorBody => ({
    error: message ?? TGI_ERRORS[errorType].error,
    error_type: errorType,
  });

  const estimatePromptTokens = (body: TgiChatRequest) => Math.max(1, Math.ceil(JSON.stringify(body.messages).length / 4));

  /** Tokens actually generated for a 'tokens' behaviour under the request's `max_tokens`. */
  const generation = (behaviour: Extract<TgiBehaviour, { kind: 'tokens' }>, body: TgiChatRequest) => {
    const max = body.max_tokens ?? Infinity;
    const hitsMax = behaviour.tokens.length >= max;
    const tokens = hitsMax ? behaviour.tokens.slice(0, max) : behaviour.tokens;
    const finishReason = hitsMax ? 'length' : (behaviour.finishReason ?? 'stop');
    // An EOS-terminated generation has one more (special, empty) token than it has texts.
    const completionTokens = tokens.length + (finishReason === 'stop' ? 1 : 0);
    const promptTokens = behaviour.promptTokens ?? estimatePromptTokens(body);
    const usage = { completion_tokens: completionTokens, prompt_tokens: promptTokens, total_tokens: completionTokens + promptTokens };
    return { tokens, finishReason, usage };
  };

  const planStream = (behaviour: Exclude<TgiBehaviour, { kind: 'http-error' }>, body: TgiChatRequest): StreamPlan => {
    const created = Math.floor(Date.now() / 1000);
    switch (behaviour.kind) {
      case 'replay': {
        const steps: Step[] = [];
        for (const recorded of loadRecording(behaviour.recording, recordingsDir)) {
          const data = sse(JSON.stringify(recorded));
          const last = steps.at(-1);
          // The usage-only chunk leaves TGI right behind the final token chunk, not one interval later.
          if ((recorded.choices as unknown[]).length === 0 && last && 'data' in last) appendToLast(steps, data);
          else steps.push({ data, tokens: 1 });
        }
        appendToLast(steps, DONE);
        return { steps, ending: 'end' };
      }
      case 'tokens': {
        const { tokens, finishReason, usage } = generation(behaviour, body);
        const steps = tokenSteps(created, finishReason === 'length' ? tokens.slice(0, -1) : tokens);
        const final = finishReason === 'length' ? (tokens.at(-1) ?? '') : '';
        steps.push({ data: final ? tokenFrames(created, final, finishReason) : sse(tokenChunk(created, final, finishReason)), tokens: 1 });
        const includeUsage = behaviour.includeUsage ?? body.stream_options?.include_usage === true;
        appendToLast(steps, (includeUsage ? sse(chunk(created, [], usage)) : '') + DONE);
        return { steps, ending: 'end' };
      }
      case 'error-frame': {
        // TGI yields the error as an ordinary event and still chains `[DONE]` after it.
        const frame = sse(JSON.stringify(errorBody(behaviour.errorType, behaviour.message))) + DONE;
        return { steps: [...tokenSteps(created, behaviour.afterTokens), { data: frame, tokens: 0 }], ending: 'end' };
      }
      case 'drop':
        return { steps: [...tokenSteps(created, behaviour.afterTokens), { drop: true }], ending: 'hold' };
      case 'stall':
        return { steps: tokenSteps(created, behaviour.afterTokens), ending: 'hold' };
      case 'no-first-token':
        return { steps: [], ending: 'hold' };
    }
  };

  const sendJson = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };

  const respondNonStream = (res: ServerResponse, behaviour: TgiBehaviour, body: TgiChatRequest) => {
    let content: string;
    let finishReason: string;
    let usage: unknown;
    if (behaviour.kind === 'tokens') {
      const g = generation(behaviour, body);
      content = g.tokens.join('');
      finishReason = g.finishReason;
      usage = g.usage;
    } else if (behaviour.kind === 'replay') {
      const chunks = loadRecording(behaviour.recording, recordingsDir);
      const choices = chunks.flatMap((c) => c.choices as { finish_reason: string | null }[]);
      content = recordedContent(behaviour.recording, recordingsDir);
      finishReason = choices.at(-1)?.finish_reason ?? 'stop';
      usage = chunks.find((c) => c.usage)?.usage ?? {
        completion_tokens: choices.length,
        prompt_tokens: estimatePromptTokens(body),
        total_tokens: choices.length + estimatePromptTokens(body),
      };
    } else {
      sendJson(res, 400, { error: `stand-in: '${behaviour.kind}' only applies to streaming requests`, error_type: 'validation' });
      return;
    }
    sendJson(res, 200, {
      object: 'chat.completion',
      id: '',
      created: Math.floor(Date.now() / 1000),
      model: modelId,
      system_fingerprint: systemFingerprint,
      choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: finishReason }],
      usage,
    });
  };

  // Responses whose socket the stand-in destroyed itself, so their `close` is not a client hang-up.
  const dropped = new WeakSet<ServerResponse>();
  const ticker = options.sharedTickMs ? createTicker(options.sharedTickMs) : undefined;

  const runStream = (res: ServerResponse, record: MutableRecord, plan: StreamPlan, pacing: Pacing) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-compute-type': 'gpu+optimized',
      'x-accel-buffering': 'no',
    });
    // Node holds headers back until the first body write; TGI sends them before the first token.
    res.flushHeaders();

    let next = 0;
    let stepTimer: NodeJS.Timeout | undefined;
    let keepAlive: NodeJS.Timeout | undefined;
    const stopAll = () => {
      clearTimeout(stepTimer);
      ticker?.remove(onTick);
      clearInterval(keepAlive);
      stopTimers.delete(stopAll);
    };
    stopTimers.add(stopAll);
    res.once('close', stopAll);
    if (keepAliveMs > 0) keepAlive = setInterval(() => res.write(':\n\n'), keepAliveMs);

    /** Writes the next step; false once nothing is left to pace. */
    const advance = (): boolean => {
      const step = plan.steps[next++];
      if (!step) {
        if (plan.ending === 'end') {
          stopAll();
          res.end();
        }
        return false;
      }
      if ('drop' in step) {
        stopAll();
        dropped.add(res);
        res.socket?.destroy();
        return false;
      }
      const now = performance.now();
      res.write(typeof step.data === 'string' ? step.data : step.data({ receivedAt: record.receivedAt, sentAt: now }));
      keepAlive?.refresh();
      if (step.tokens > 0) {
        record.firstTokenAt ??= now;
        record.tokensSent += step.tokens;
      }
      // The last data step ends the response at once; only a drop or a hold waits for another slot.
      return next === plan.steps.length && plan.ending === 'end' ? advance() : true;
    };

    const interval = pacing.intervalMs ?? 0;
    const startAt = performance.now() + (pacing.firstTokenDelayMs ?? 0);
    const dueIn = () => startAt + next * interval - performance.now();
    // One timer per stream at a time, aimed at absolute due times (a re-armed setInterval adds its
    // lateness to every token). A late tick writes every step already due, which Node coalesces
    // into one socket write, as a server flushing a backlog would.
    const tick = () => {
      let more: boolean;
      do more = advance();
      while (more && dueIn() <= 0);
      if (more && !ticker) stepTimer = setTimeout(tick, dueIn());
      else if (!more) ticker?.remove(onTick);
    };
    // With the shared ticker the stream stays registered until its last step and writes on the tick
    // nearest its due time: a step due just after a tick would otherwise wait a whole tick whenever the
    // timer fires a little early, a 2-interval gap that the gateway did not cause.
    function onTick() {
      if (dueIn() <= (options.sharedTickMs ?? 0) / 2) tick();
    }
    if (ticker) ticker.add(onTick);
    else if (dueIn() > 0) stepTimer = setTimeout(tick, dueIn());
    else tick();
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET' && path === '/info') {
      sendJson(res, 200, {
        model_id: modelId,
        model_sha: null,
        model_pipeline_tag: 'text-generation',
        max_concurrent_requests: 128,
        max_best_of: 2,
        max_stop_sequences: 4,
        max_input_tokens: 8191,
        max_total_tokens: 8192,
        validation_workers: 2,
        max_client_batch_size: 4,
        router: 'text-generation-router',
        version: systemFingerprint.replace(/-native$/, ''),
        sha: null,
        docker_label: null,
      });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }

    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: TgiChatRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TgiChatRequest;
      } catch (err) {
        // axum's Json extractor answers malformed JSON with a plain-text 400.
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Failed to parse the request body as JSON: ${(err as Error).message}`);
        return;
      }
      if (typeof body !== 'object' || body === null || !Array.isArray(body.messages)) {
        res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Failed to deserialize the JSON body into the target type: missing field `messages`');
        return;
      }

      const behaviour = queue.shift() ?? (typeof defaultBehaviour === 'function' ? defaultBehaviour() : defaultBehaviour);
      const record: MutableRecord = {
        index: requests.length,
        body,
        headers: req.headers,
        behaviour,
        receivedAt: performance.now(),
        tokensSent: 0,
        finished: false,
        clientClosed: false,
      };
      requests.push(record);
      res.once('finish', () => {
        record.finished = true;
      });
      // `close` on the response (not the request, whose `close` only means its body was read) tells a
      // client hang-up apart from our own end: before `finish`, it was not us.
      res.once('close', () => {
        record.closedAt = performance.now();
        if (!res.writableFinished && !dropped.has(res) && !closing) record.clientClosed = true;
        notify();
      });
      notify();

      if (behaviour.kind === 'http-error') {
        sendJson(res, behaviour.status ?? TGI_ERRORS[behaviour.errorType].status, errorBody(behaviour.errorType, behaviour.message));
      } else if (body.stream !== true) {
        respondNonStream(res, behaviour, body);
      } else {
        runStream(res, record, planStream(behaviour, body), 'pacing' in behaviour ? (behaviour.pacing ?? {}) : {});
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node's default backlog (511) resets connections when a benchmark opens ~1,000 streams at once.
    server.listen({ port: options.port ?? 0, host, backlog: 4096 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    requests,
    script(...behaviours) {
      queue.push(...behaviours.map(validate));
    },
    setDefault(behaviour) {
      defaultBehaviour = validateDefault(behaviour);
    },
    waitForRequests(n) {
      return new Promise((resolve, reject) =>
        addWaiter(() => {
          if (requests.length >= n) resolve(requests);
          else if (closing) reject(new Error(`stand-in closed after ${requests.length} of ${n} requests`));
          else return false;
          return true;
        }),
      );
    },
    waitForClientClose(index) {
      return new Promise((resolve, reject) =>
        addWaiter(() => {
          const record = requests[index];
          if (record?.clientClosed) resolve(record);
          else if (record?.closedAt !== undefined)
            reject(new Error(`request ${index} ended without a client hang-up (finished: ${record.finished})`));
          else if (closing) reject(new Error(`stand-in closed before request ${index} was hung up`));
          else return false;
          return true;
        }),
      );
    },
    async close() {
      closing = true;
      for (const stop of stopTimers) stop();
      ticker?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      notify();
    },
  };
}

function appendToLast(steps: Step[], data: string) {
  const last = steps.at(-1);
  if (last && 'data' in last) {
    const frames = last.data;
    last.data = typeof frames === 'string' ? frames + data : (timing) => frames(timing) + data;
  } else {
    steps.push({ data, tokens: 0 });
  }
}

/** One timer aimed at absolute times `start + k × intervalMs`, running only while someone listens. */
function createTicker(intervalMs: number) {
  const listeners = new Set<() => void>();
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const elapsed = performance.now() - start;
    timer = setTimeout(fire, (Math.floor(elapsed / intervalMs) + 1) * intervalMs - elapsed);
  };
  // Deleting the current entry while iterating a Set is safe; entries added during a tick wait for the next.
  const fire = () => {
    for (const listener of [...listeners]) listener();
    if (listeners.size > 0) arm();
    else timer = undefined;
  };
  return {
    add(listener: () => void) {
      listeners.add(listener);
      if (!timer) arm();
    },
    remove(listener: () => void) {
      listeners.delete(listener);
    },
    stop() {
      listeners.clear();
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * The streaming load generator, in its own process (driven over IPC by bench/streaming.ts): opens
 * N streams spread evenly over a ramp, reads them to the end and measures, per token, how long after
 * the stand-in wrote it the token arrived here. Plain node:http keeps it light: at 1,000 streams it
 * parses 50,000 events a second on the same two cores as everything else.
 */
import { Agent, type IncomingMessage, request } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { serveRpc } from './rpc.ts';
import { epochMicros, readStamps } from './stamps.ts';
import { quantile } from './stats.ts';

/** 'relay' is the baseline: bench/lean-relay.ts, which speaks the REST route's wire. */
export const STREAM_VARIANTS = ['relay', 'rest', 'graphql-distinct', 'graphql-single'] as const;
export type StreamVariant = (typeof STREAM_VARIANTS)[number];

export interface StreamRunArgs {
  variant: StreamVariant;
  streams: number;
  rampMs: number;
  tokens: number;
  tokenIntervalMs: number;
  relayUrl: string;
  gatewayUrl: string;
  /** Several gateways: the streams are split among them in order, in equal blocks (instead of `gatewayUrl`). */
  gatewayUrls?: string[];
  /** One Human message per stream (ignored by 'relay'). */
  questionIds: string[];
}

export interface StreamRunResult {
  streams: number;
  completed: number;
  failed: number;
  failures: Record<string, number>;
  tokensReceived: number;
  peakOpen: number;
  /** Request start to first token, minus the time the stand-in held the first token back for its tick. */
  ttftMs: { p50: number; p99: number };
  /** Token write in the stand-in to token arrival here. */
  tokenLatencyMs: { p50: number; p99: number };
  /** Time between consecutive tokens of one stream, as a client sees it. */
  tokenGapMs: { p50: number; p99: number };
  /**
   * While every stream was receiving tokens at once (from the last stream's first token to the first
   * stream's last): how long that lasted, and the gaps and latencies of the tokens that arrived in it.
   * Streams still being opened stall the others; this is what N concurrent streams cost once open.
   */
  steady: { windowMs: number; tokenGapMs: { p50: number; p99: number }; tokenLatencyMs: { p50: number; p99: number } };
  wallMs: number;
  clientCpuMs: number;
}

const SUBSCRIPTION =
  'subscription Inference($id: ID!) { inference(conversationId: $id, regenerate: true) { __typename ' +
  '... on InferenceToken { text } ... on InferenceDone { conversation { id } } ... on InferenceError { code detail } } }';

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** What one stream's events mean; `token` gets the raw token text. */
interface StreamSink {
  token(text: string): void;
  done(): void;
  fail(reason: string): void;
}

type EventReader = (event: EventSourceMessage, sink: StreamSink) => void;

/** A GraphQL execution result of the inference subscription. */
const readInferenceResult = (result: { data?: { inference?: Record<string, string> }; errors?: unknown[] }, sink: StreamSink) => {
  const event = result.data?.inference;
  if (result.errors || !event) sink.fail('graphql-errors');
  else if (event.__typename === 'InferenceToken') sink.token(event.text!);
  else if (event.__typename === 'InferenceDone') sink.done();
  else sink.fail(`inference-error:${event.code}`);
};

/** The REST route's wire: a token is an unnamed event whose data is the token's text. */
const readRestEvent: EventReader = (event, sink) => {
  if (event.event === undefined) sink.token(event.data);
  else if (event.event === 'done') sink.done();
  else if (event.event === 'error') sink.fail(`sse-error:${(JSON.parse(event.data) as { code: string }).code}`);
};

const READERS: Record<StreamVariant, EventReader> = {
  relay: readRestEvent,
  rest: readRestEvent,
  'graphql-distinct': (event, sink) => {
    if (event.event === 'next') readInferenceResult(JSON.parse(event.data), sink);
  },
  'graphql-single': (event, sink) => {
    if (event.event === 'next') readInferenceResult((JSON.parse(event.data) as { payload: never }).payload, sink);
  },
};

function send(method: string, url: string, headers: Record<string, string>, body?: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, resolve);
    req.once('error', reject);
    req.end(body);
  });
}

async function readText(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response.setEncoding('utf8')) text += chunk;
  return text;
}

const json = { 'content-type': 'application/json' };
const sseAccept = { accept: 'text/event-stream' };

/** Opens the stream of one variant; resolves with its event-stream response. */
async function open(args: StreamRunArgs, index: number): Promise<IncomingMessage> {
  const id = args.questionIds[index]!;
  const variables = { id };
  const gatewayUrl = args.gatewayUrls ? args.gatewayUrls[Math.floor((index * args.gatewayUrls.length) / args.streams)]! : args.gatewayUrl;
  switch (args.variant) {
    case 'relay':
      return send('GET', `${args.relayUrl}/conversations/inference/${id}`, sseAccept);
    case 'rest':
      return send('GET', `${gatewayUrl}/conversations/inference/${id}?regenerate=true`, sseAccept);
    case 'graphql-distinct':
      return send('POST', `${gatewayUrl}/graphql`, { ...json, ...sseAccept }, JSON.stringify({ query: SUBSCRIPTION, variables }));
    case 'graphql-single': {
      // graphql-sse's single-connection mode: reserve a stream, open it, then subscribe on it.
      const url = `${gatewayUrl}/graphql/stream`;
      const reservation = await send('PUT', url, {});
      const token = await readText(reservation);
      if (reservation.statusCode !== 201) throw new Error(`reserve: ${reservation.statusCode}`);
      const streamHeaders = { 'x-graphql-event-stream-token': token };
      const stream = await send('GET', url, { ...sseAccept, ...streamHeaders });
      const subscribed = await send(
        'POST',
        url,
        { ...json, ...streamHeaders },
        JSON.stringify({
          query: SUBSCRIPTION,
          variables,
          extensions: { operationId: 'inference' },
        }),
      );
      await readText(subscribed);
      if (subscribed.statusCode !== 202) throw new Error(`subscribe: ${subscribed.statusCode}`);
      return stream;
    }
  }
}

async function run(args: StreamRunArgs): Promise<StreamRunResult> {
  const ttfts: number[] = [];
  const latencies: number[] = [];
  const gaps: number[] = [];
  /** [arrival µs, gap ms, latency ms] of every token after a stream's first. */
  const timed: [number, number, number][] = [];
  const firstArrivals: number[] = [];
  const lastArrivals: number[] = [];
  const failures: Record<string, number> = {};
  let completed = 0;
  let tokensReceived = 0;
  let open_ = 0;
  let peakOpen = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const timeoutMs = args.rampMs + args.tokens * args.tokenIntervalMs + 30_000;

  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const startedAt = epochMicros();
      let received = 0;
      let lastArrival: number | undefined;
      let response: IncomingMessage | undefined;
      let settled = false;
      open_ += 1;
      peakOpen = Math.max(peakOpen, open_);
      const settle = (reason?: string) => {
        if (settled) return;
        settled = true;
        open_ -= 1;
        clearTimeout(timer);
        if (reason) failures[reason] = (failures[reason] ?? 0) + 1;
        else completed += 1;
        response?.destroy();
        resolve();
      };
      const timer = setTimeout(() => settle('timeout'), timeoutMs);
      const sink: StreamSink = {
        token(text) {
          const now = epochMicros();
          for (const { sent, received: upstreamReceived } of readStamps(text)) {
            if (received === 0) {
              ttfts.push((now - startedAt - (upstreamReceived === undefined ? 0 : sent - upstreamReceived)) / 1000);
              firstArrivals.push(now);
            }
            latencies.push((now - sent) / 1000);
            if (lastArrival !== undefined) {
              gaps.push((now - lastArrival) / 1000);
              timed.push([now, (now - lastArrival) / 1000, (now - sent) / 1000]);
            }
            lastArrival = now;
            received += 1;
            tokensReceived += 1;
          }
        },
        done: () => {
          if (lastArrival !== undefined) lastArrivals.push(lastArrival);
          settle(received === args.tokens ? undefined : `missing-tokens:${args.tokens - received}`);
        },
        fail: settle,
      };
      const parser = createParser({ onEvent: (event) => READERS[args.variant](event, sink) });
      open(args, index).then(
        (stream) => {
          response = stream;
          if (stream.statusCode !== 200) return settle(`http-${stream.statusCode}`);
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => parser.feed(chunk));
          stream.once('end', () => settle('ended-without-done'));
          stream.once('error', () => settle('stream-error'));
        },
        (error: Error) => settle(`open:${error.message}`),
      );
    });

  const streams: Promise<void>[] = [];
  for (let index = 0; index < args.streams; index += 1) {
    const delay = (index * args.rampMs) / args.streams;
    streams.push(new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => one(index)));
  }
  await Promise.all(streams);
  const cpu = process.cpuUsage(cpuBefore);
  const summary = (values: number[]) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99) });
  return {
    streams: args.streams,
    completed,
    failed: args.streams - completed,
    failures,
    tokensReceived,
    peakOpen,
    ttftMs: summary(ttfts),
    tokenLatencyMs: summary(latencies),
    tokenGapMs: summary(gaps),
    steady: steadyState(timed, firstArrivals, lastArrivals, args.streams),
    wallMs: performance.now() - started,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

function steadyState(
  timed: [number, number, number][],
  firstArrivals: number[],
  lastArrivals: number[],
  streams: number,
): StreamRunResult['steady'] {
  const from = Math.max(...firstArrivals);
  const to = Math.min(...lastArrivals);
  const inWindow = firstArrivals.length === streams && lastArrivals.length === streams ? timed.filter(([at]) => at > from && at <= to) : [];
  const summary = (values: number[]) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99) });
  return {
    windowMs: inWindow.length > 0 ? (to - from) / 1000 : 0,
    tokenGapMs: summary(inWindow.map(([, gap]) => gap)),
    tokenLatencyMs: summary(inWindow.map(([, , latency]) => latency)),
  };
}

// Serves only when started as a process: the orchestrator imports this module for its types.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  serveRpc({ run: (args) => run(args as unknown as StreamRunArgs) }, { keepAlive: true });
}

/**
 * Section 2: the streaming hot path against the lean relay (bench/lean-relay.ts), which relays the same
 * stand-in stream with nothing but `node:http`. N streams (100) are opened at once, each relaying T tokens
 * (150) paced by the stand-in; every run measures the relay, then each gateway path right after it:
 * REST SSE on PostgreSQL and on PGlite, graphql-sse in both modes on PostgreSQL.
 *
 * - CPU per relayed token = the process's CPU over the run / tokens the clients received (opening and
 *   ending the streams included), and its ratio to the relay's in the same run.
 * - Opening a stream: the same N streams with 1 token and with T tokens give two CPU totals per stream;
 *   the line through them, CPU(t) = open + t × per token, has the cost of a stream without its tokens
 *   (open, first read, reply insert, upstream request, final save, end) as its intercept.
 * - Time to first token p50 with all N opened in the same millisecond, and its difference from the relay's.
 */
import { type OverRuns, overRuns } from './lib/stats.ts';
import type { StreamVariant } from './lib/stream-client.ts';
import type { StreamMeasurement, StreamRig } from './lib/stream-rig.ts';

export interface HotPathSettings {
  streams: number;
  tokens: number;
  runs: number;
  tokenIntervalMs: number;
}

export interface HotPathPath {
  name: string;
  variant: StreamVariant;
  pglite: boolean;
}

export const HOT_PATHS: HotPathPath[] = [
  { name: 'lean relay (baseline)', variant: 'relay', pglite: false },
  { name: 'REST SSE, PostgreSQL', variant: 'rest', pglite: false },
  { name: 'REST SSE, PGlite', variant: 'rest', pglite: true },
  { name: 'graphql-sse distinct, PostgreSQL', variant: 'graphql-distinct', pglite: false },
  { name: 'graphql-sse single, PostgreSQL', variant: 'graphql-single', pglite: false },
];

export interface HotPathFigures {
  path: string;
  failedStreams: number;
  cpuPerTokenUs: OverRuns;
  /** Against the relay in the same run (absent for the relay). */
  cpuPerTokenRatio?: OverRuns;
  /** Against REST SSE on PostgreSQL in the same run (graphql-sse paths only). */
  cpuPerTokenVsRest?: OverRuns;
  openCpuMs: OverRuns;
  ttftP50Ms: OverRuns;
  ttftAddedP50Ms?: OverRuns;
  tokenLatencyP99Ms: OverRuns;
  cores: OverRuns;
}

export interface HotPathResults {
  settings: HotPathSettings;
  figures: HotPathFigures[];
  measurements: StreamMeasurement[];
}

export async function runHotPath(rig: StreamRig, settings: HotPathSettings, log: (line: string) => void): Promise<HotPathResults> {
  const { streams, tokens } = settings;
  // Not counted: the first streams through each path pay for JIT compilation and the first queries.
  for (const path of HOT_PATHS) await rig.measure(path.variant, streams, { tokens: 20, rampMs: 0, pglite: path.pglite });

  const measurements: StreamMeasurement[] = [];
  const runs = new Map<string, { full: StreamMeasurement; single: StreamMeasurement }[]>(HOT_PATHS.map((p) => [p.name, []]));
  for (let run = 0; run < settings.runs; run += 1) {
    for (const path of HOT_PATHS) {
      const full = await rig.measure(path.variant, streams, { tokens, rampMs: 0, pglite: path.pglite });
      const single = await rig.measure(path.variant, streams, { tokens: 1, rampMs: 0, pglite: path.pglite });
      measurements.push(full, single);
      runs.get(path.name)!.push({ full, single });
      log(
        `  ${path.name} | run ${run + 1}: ${full.gateway.cpuPerTokenUs.toFixed(0)} µs/token, open ${openCpuMs(full, single, tokens).toFixed(2)} ms, ` +
          `ttft p50 ${full.client.ttftMs.p50.toFixed(1)} ms, failed ${full.client.failed + single.client.failed}`,
      );
    }
  }

  const relay = runs.get(HOT_PATHS[0]!.name)!;
  const rest = runs.get(HOT_PATHS[1]!.name)!;
  const figures = HOT_PATHS.map((path): HotPathFigures => {
    const own = runs.get(path.name)!;
    const of = (figure: (m: (typeof own)[number]) => number) => overRuns(own.map(figure));
    const against = (base: typeof own, figure: (m: (typeof own)[number]) => number, combine: (mine: number, theirs: number) => number) =>
      overRuns(own.map((m, run) => combine(figure(m), figure(base[run]!))));
    const cpu = (m: (typeof own)[number]) => m.full.gateway.cpuPerTokenUs;
    const ttft = (m: (typeof own)[number]) => m.full.client.ttftMs.p50;
    const isRelay = path.variant === 'relay';
    return {
      path: path.name,
      failedStreams: own.reduce((sum, m) => sum + m.full.client.failed + m.single.client.failed, 0),
      cpuPerTokenUs: of(cpu),
      cpuPerTokenRatio: isRelay ? undefined : against(relay, cpu, (mine, theirs) => mine / theirs),
      cpuPerTokenVsRest: path.variant.startsWith('graphql') ? against(rest, cpu, (mine, theirs) => mine / theirs) : undefined,
      openCpuMs: of((m) => openCpuMs(m.full, m.single, tokens)),
      ttftP50Ms: of(ttft),
      ttftAddedP50Ms: isRelay ? undefined : against(relay, ttft, (mine, theirs) => mine - theirs),
      tokenLatencyP99Ms: of((m) => m.full.client.tokenLatencyMs.p99),
      cores: of((m) => m.full.gateway.cpuCores),
    };
  });
  return { settings, figures, measurements };
}

/** The intercept of CPU per stream against tokens per stream, through the 1-token and the T-token runs. */
function openCpuMs(full: StreamMeasurement, single: StreamMeasurement, tokens: number): number {
  const perStream = (m: StreamMeasurement) => m.gateway.cpuMs / m.streams;
  const perToken = (perStream(full) - perStream(single)) / (tokens - 1);
  return perStream(single) - perToken;
}

/**
 * Section 3: what the gateway adds to N concurrent token streams (N = 100, 500, 1,000) opened over a
 * ramp. In each run the same N streams go through the lean relay (bench/lean-relay.ts, the baseline),
 * then through the REST SSE route, graphql-sse's distinct-connections mode (POST /graphql) and its
 * single-connection mode (/graphql/stream, one reserved connection per client); every gateway figure
 * is a difference from, or a ratio to, the relay's figure of the same run.
 */
import { linearFit, type OverRuns, overRuns } from './lib/stats.ts';
import { STREAM_VARIANTS, type StreamVariant } from './lib/stream-client.ts';
import type { StreamMeasurement, StreamRig } from './lib/stream-rig.ts';

export interface StreamingSettings {
  streamCounts: number[];
  runs: number;
  tokens: number;
  tokenIntervalMs: number;
  /** Streams start evenly spread over N × this (1,000 streams over 1.5 s), as clients arrive, not all in one millisecond. */
  rampMsPerStream: number;
}

export interface StreamingFigures {
  variant: StreamVariant;
  streams: number;
  failedStreams: number;
  ttftP50Ms: OverRuns;
  ttftP99Ms: OverRuns;
  tokenLatencyP50Ms: OverRuns;
  tokenLatencyP99Ms: OverRuns;
  tokenGapP99Ms: OverRuns;
  /** Differences from, and ratios to, the relay's figures of the same run (absent for 'relay'). */
  ttftAddedP50Ms?: OverRuns;
  ttftAddedP99Ms?: OverRuns;
  tokenAddedP50Ms?: OverRuns;
  tokenAddedP99Ms?: OverRuns;
  gatewayCpuPerTokenUs: OverRuns;
  cpuPerTokenRatio?: OverRuns;
  gatewayCpuCores: OverRuns;
  loopDelayP99Ms: OverRuns;
  rssPerStreamKB: OverRuns;
  heapPerStreamKB: OverRuns;
}

export interface StreamingResults {
  settings: StreamingSettings;
  figures: StreamingFigures[];
  /** Resident memory per open stream: slope of (peak RSS − RSS before) against N, per variant. */
  memorySlopes: { variant: StreamVariant; rssKBPerStream: number; heapKBPerStream: number }[];
  measurements: StreamMeasurement[];
}

export async function runStreaming(rig: StreamRig, settings: StreamingSettings, log: (line: string) => void): Promise<StreamingResults> {
  const options = (streams: number) => ({ tokens: settings.tokens, rampMs: streams * settings.rampMsPerStream });
  // Not counted: the first streams through each path pay for JIT compilation and Prisma's first queries.
  for (const variant of STREAM_VARIANTS) await rig.measure(variant, 50, { tokens: 20, rampMs: 100 });

  const measurements: StreamMeasurement[] = [];
  const figures: StreamingFigures[] = [];
  for (const streams of settings.streamCounts) {
    const byVariant = new Map<StreamVariant, StreamMeasurement[]>(STREAM_VARIANTS.map((v) => [v, []]));
    for (let run = 0; run < settings.runs; run += 1) {
      for (const variant of STREAM_VARIANTS) {
        const m = await rig.measure(variant, streams, options(streams));
        measurements.push(m);
        byVariant.get(variant)!.push(m);
        log(
          `  ${streams} streams | ${variant} | run ${run + 1}: ttft p50 ${m.client.ttftMs.p50.toFixed(1)} ms, ` +
            `token p99 ${m.client.tokenLatencyMs.p99.toFixed(1)} ms, failed ${m.client.failed}, ` +
            `gateway ${m.gateway.cpuPerTokenUs.toFixed(0)} µs/token, loop p99 ${m.gateway.loopDelayMs.p99.toFixed(1)} ms`,
        );
      }
    }
    const relay = byVariant.get('relay')!;
    for (const [variant, runs] of byVariant) {
      const of = (figure: (m: StreamMeasurement) => number) => overRuns(runs.map(figure));
      const added = (figure: (m: StreamMeasurement) => number) =>
        variant === 'relay' ? undefined : overRuns(runs.map((m, run) => figure(m) - figure(relay[run]!)));
      figures.push({
        variant,
        streams,
        failedStreams: runs.reduce((sum, m) => sum + m.client.failed, 0),
        ttftP50Ms: of((m) => m.client.ttftMs.p50),
        ttftP99Ms: of((m) => m.client.ttftMs.p99),
        tokenLatencyP50Ms: of((m) => m.client.tokenLatencyMs.p50),
        tokenLatencyP99Ms: of((m) => m.client.tokenLatencyMs.p99),
        tokenGapP99Ms: of((m) => m.client.tokenGapMs.p99),
        ttftAddedP50Ms: added((m) => m.client.ttftMs.p50),
        ttftAddedP99Ms: added((m) => m.client.ttftMs.p99),
        tokenAddedP50Ms: added((m) => m.client.tokenLatencyMs.p50),
        tokenAddedP99Ms: added((m) => m.client.tokenLatencyMs.p99),
        gatewayCpuPerTokenUs: of((m) => m.gateway.cpuPerTokenUs),
        cpuPerTokenRatio:
          variant === 'relay' ? undefined : overRuns(runs.map((m, run) => m.gateway.cpuPerTokenUs / relay[run]!.gateway.cpuPerTokenUs)),
        gatewayCpuCores: of((m) => m.gateway.cpuCores),
        loopDelayP99Ms: of((m) => m.gateway.loopDelayMs.p99),
        rssPerStreamKB: of((m) => m.gateway.rssPerStreamKB),
        heapPerStreamKB: of((m) => m.gateway.heapPerStreamKB),
      });
    }
  }

  const memorySlopes = STREAM_VARIANTS.map((variant) => {
    const rows = figures.filter((f) => f.variant === variant);
    const slopeOf = (perStream: (f: StreamingFigures) => number) =>
      linearFit(rows.map((f) => ({ x: f.streams, y: perStream(f) * f.streams }))).slope;
    return { variant, rssKBPerStream: slopeOf((f) => f.rssPerStreamKB.median), heapKBPerStream: slopeOf((f) => f.heapPerStreamKB.median) };
  });
  return { settings, figures, memorySlopes, measurements };
}

/**
 * Section 4: the most concurrent streams one process sustains: the lean relay (the baseline), the
 * REST SSE route and graphql-sse's distinct-connections mode (GraphQL is the primary API). N grows step by step; a step passes when
 * every stream completes, all N streams received tokens at once for at least `sustainMs`, and in that
 * window the p99 per-token latency (the stand-in's write to the client's arrival) stays under 1.5 × the
 * token interval. Latency rather than the gap between tokens: the stand-in's own gaps already reach
 * 2 intervals at p99 when its timer drifts across a tick, gateway or not. Opening streams is measured
 * by section 2 (time to first token); streams are long enough to cover their opening
 * (`openAllowanceMs` each) and the sustained window.
 */
import { totalmem } from 'node:os';
import type { StreamVariant } from './lib/stream-client.ts';
import type { StreamMeasurement, StreamRig } from './lib/stream-rig.ts';

export interface ScaleSettings {
  steps: number[];
  tokenIntervalMs: number;
  rampMsPerStream: number;
  sustainMs: number;
  openAllowanceMs: number;
}

export interface ScaleStep {
  streams: number;
  passed: boolean;
  measurement: StreamMeasurement;
}

export interface ScaleResults {
  variant: StreamVariant;
  settings: ScaleSettings;
  steps: ScaleStep[];
  /** The largest N that passed (0 if none did). */
  sustained: number;
  /** Which resource ran out first at the first failing step (or at the last step if none failed). */
  limit: string;
}

export const SCALE_VARIANTS = ['relay', 'rest', 'graphql-distinct'] as const satisfies StreamVariant[];

/** `gateways`: the rig's gateways the streams are split among (default: its first). */
export async function runScale(
  rig: StreamRig,
  settings: ScaleSettings,
  log: (line: string) => void,
  { variant = 'graphql-distinct', gateways = [0] }: { variant?: StreamVariant; gateways?: number[] } = {},
): Promise<ScaleResults> {
  const steps: ScaleStep[] = [];
  for (const streams of settings.steps) {
    const rampMs = streams * settings.rampMsPerStream;
    const tokens = Math.ceil((rampMs + streams * settings.openAllowanceMs + 1.5 * settings.sustainMs) / settings.tokenIntervalMs);
    const measurement = await rig.measure(variant, streams, { tokens, rampMs, gateways });
    const { steady } = measurement.client;
    const passed =
      measurement.client.failed === 0 &&
      steady.windowMs >= settings.sustainMs &&
      steady.tokenLatencyMs.p99 < 1.5 * settings.tokenIntervalMs;
    steps.push({ streams, passed, measurement });
    // Figures are null when no token arrived while all N streamed (streams that failed to open).
    const ms = (value: number | null, digits = 1) => (value === null ? '–' : value.toFixed(digits));
    log(
      `  ${variant} | ${streams} streams: all streaming for ${ms(steady.windowMs, 0)} ms, token latency p99 ${ms(steady.tokenLatencyMs.p99)} ms, ` +
        `gap p99 ${ms(steady.tokenGapMs.p99)} ms, failed ${measurement.client.failed} ${JSON.stringify(measurement.client.failures)}, ` +
        `gateway ${measurement.perGateway.map((each) => each.cpuCores.toFixed(2)).join(' + ')} cores, machine ${measurement.cores.machine.toFixed(2)} cores, ` +
        `loop p99 ${measurement.gateway.loopDelayMs.p99.toFixed(1)} ms → ${passed ? 'sustained' : 'not sustained'}`,
    );
    if (!passed) break;
  }
  const sustained = Math.max(0, ...steps.filter((s) => s.passed).map((s) => s.streams));
  const limiting = steps.find((s) => !s.passed) ?? steps.at(-1)!;
  return { variant, settings, steps, sustained, limit: limitOf(limiting.measurement, settings.tokenIntervalMs) };
}

/**
 * The first resource that ran out, by the order things saturate: the gateway's one JavaScript thread,
 * then the machine's cores (shared with the stand-in, the load generator and PostgreSQL), then the
 * database, then the event loop stalling without the CPU being busy (blocking work), then memory.
 */
export function limitOf(m: StreamMeasurement, tokenIntervalMs: number): string {
  const cpus = Math.round(m.cores.machine);
  if (m.gateway.cpuCores >= 0.9) return `CPU: the gateway's event loop thread (${m.gateway.cpuCores.toFixed(2)} cores busy)`;
  if (m.cores.machine >= 0.9 * Math.max(cpus, 1) && m.cores.machine > 1.7) {
    return `CPU: the machine (${m.cores.machine.toFixed(2)} cores busy; gateway ${m.gateway.cpuCores.toFixed(2)}, stand-in ${m.cores.standin.toFixed(2)}, load generator ${m.cores.client.toFixed(2)}, PostgreSQL ${m.cores.postgres.toFixed(2)})`;
  }
  if (m.cores.postgres >= 0.5) return `database: PostgreSQL busy ${m.cores.postgres.toFixed(2)} cores`;
  if (m.gateway.loopDelayMs.p99 > tokenIntervalMs / 2) return `event loop: p99 delay ${m.gateway.loopDelayMs.p99.toFixed(1)} ms`;
  if (m.gateway.rssPeakBytes > 0.5 * totalmem()) return `memory: ${(m.gateway.rssPeakBytes / 2 ** 20).toFixed(0)} MiB resident`;
  return 'nothing saturated in this range (the largest step passed)';
}

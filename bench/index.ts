/**
 * `npm run bench`: the whole benchmark suite on this machine, loopback only. Writes bench/RESULTS.md
 * (committed) and bench/raw/ (raw JSON and CPU profiles, not committed). BENCH_QUICK=1 runs a small
 * version of everything for a quick check of the harness; its figures mean nothing.
 *
 *   1. request/response: raw node:http vs REST vs GraphQL, on PGlite and PostgreSQL (bench/request-response.ts)
 *   2. streaming: N concurrent token streams direct vs through the gateway (bench/streaming.ts)
 *   3. scale: the most streams one gateway sustains, and what runs out first (bench/scale.ts)
 *   4. scale-out: one and two gateways on Redis, and what a listener on another instance costs (bench/scaleout.ts)
 *
 * BENCH_ONLY=scaleout runs section 4 alone (about 3 minutes) and prints its table instead of writing RESULTS.md.
 *
 * Timings never go into pass/fail tests; this script only fails when the harness itself fails.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describeMachine } from './lib/machine.ts';
import { summarizeProfile } from './lib/profile.ts';
import { renderResults, scaleOutSection } from './lib/report.ts';
import { withStreamRig } from './lib/stream-rig.ts';
import { runRequestResponse } from './request-response.ts';
import { runScale } from './scale.ts';
import { runScaleOut } from './scaleout.ts';
import { runStreaming } from './streaming.ts';

const quick = process.env.BENCH_QUICK === '1';
const TOKEN_INTERVAL_MS = 20;
const settings = {
  requestResponse: quick
    ? { runs: 1, durationSeconds: 1, warmupSeconds: 0, connections: 10 }
    : { runs: 3, durationSeconds: 2, warmupSeconds: 1, connections: 10 },
  streaming: {
    streamCounts: quick ? [50, 100] : [100, 500, 1000],
    runs: quick ? 1 : 3,
    // 50 tokens (1 s) per stream keeps the full run under 10 minutes even when the gateway falls behind.
    tokens: 50,
    tokenIntervalMs: TOKEN_INTERVAL_MS,
    rampMsPerStream: 0.5,
  },
  scale: {
    steps: quick ? [25, 50] : [25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000],
    tokenIntervalMs: TOKEN_INTERVAL_MS,
    rampMsPerStream: 0.5,
    sustainMs: 1000,
    // Gateway time to open one stream under load (section 2: ~5 ms), with room to spare.
    openAllowanceMs: 10,
  },
  profileStreams: quick ? 100 : 1000,
  scaleOut: {
    scale: {
      steps: quick ? [25, 50] : [25, 50, 75, 100, 150, 200, 300, 500],
      tokenIntervalMs: TOKEN_INTERVAL_MS,
      rampMsPerStream: 0.5,
      sustainMs: 1000,
      openAllowanceMs: 10,
    },
    cpuStreams: quick ? 20 : 200,
    cpuTokens: 100,
    cpuRuns: quick ? 1 : 3,
    tokenIntervalMs: TOKEN_INTERVAL_MS,
  },
};

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const log = (line: string) => console.log(`[${elapsed()}] ${line}`);
// Every process stamps and reads token times against this one wall-clock origin.
process.env.BENCH_EPOCH_MS = String(Date.now());

await mkdir('bench/raw/profiles', { recursive: true });
const machine = await describeMachine();
log(`${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, PostgreSQL ${machine.postgres}`);

if (process.env.BENCH_ONLY === 'scaleout') {
  log('4. scale-out');
  const scaleOut = await runScaleOut(settings.scaleOut, Number(process.env.BENCH_EPOCH_MS), log);
  await writeFile('bench/raw/scaleout-latest.json', `${JSON.stringify({ machine, quick, scaleOut }, null, 1)}\n`);
  console.log(scaleOutSection(scaleOut));
  process.exit(0);
}

log('1. request/response');
const requestResponse = await runRequestResponse(settings.requestResponse, log);

const questions = Math.max(...settings.streaming.streamCounts, ...settings.scale.steps, settings.profileStreams);
const { streaming, scale, profiles } = await withStreamRig(
  { questions, tokenIntervalMs: TOKEN_INTERVAL_MS, epochMs: Number(process.env.BENCH_EPOCH_MS) },
  async (rig) => {
    log('2. streaming');
    const streaming = await runStreaming(rig, settings.streaming, log);
    log(`profiling the gateway under ${settings.profileStreams} streams`);
    const profiles = [];
    for (const variant of ['rest', 'graphql-distinct'] as const) {
      const path = `bench/raw/profiles/gateway-${variant}-${settings.profileStreams}.cpuprofile`;
      const measurement = await rig.profile(path, () =>
        rig.measure(variant, settings.profileStreams, {
          tokens: settings.streaming.tokens,
          rampMs: settings.profileStreams * settings.streaming.rampMsPerStream,
        }),
      );
      profiles.push({ variant, streams: settings.profileStreams, path, summary: await summarizeProfile(path), measurement });
    }
    log('3. scale');
    const scale = await runScale(rig, settings.scale, log);
    return { streaming, scale, profiles };
  },
);
log('4. scale-out');
const scaleOut = await runScaleOut(settings.scaleOut, Number(process.env.BENCH_EPOCH_MS), log);

const wallSeconds = (performance.now() - started) / 1000;
const results = { machine, quick, wallSeconds, requestResponse, streaming, scale, scaleOut, profiles };
await writeFile(`bench/raw/results-${machine.date.replaceAll(':', '-')}.json`, `${JSON.stringify(results, null, 1)}\n`);
await writeFile('bench/raw/latest.json', `${JSON.stringify(results, null, 1)}\n`);
await writeFile('bench/RESULTS.md', renderResults(results));
log(`done in ${wallSeconds.toFixed(0)} s: bench/RESULTS.md, bench/raw/latest.json`);

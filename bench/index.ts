/**
 * `npm run bench`: the whole benchmark suite on this machine, loopback only. Writes bench/RESULTS.md
 * (committed) and bench/raw/ (raw JSON and CPU profiles, not committed). BENCH_QUICK=1 runs a small
 * version of everything for a quick check of the harness; its figures mean nothing.
 *
 *   1. request/response: raw node:http vs REST vs GraphQL, on PGlite and PostgreSQL (bench/request-response.ts)
 *   2. hot path: 100 streams opened at once, the lean relay vs each gateway path (bench/hot-path.ts)
 *   3. streaming: N concurrent token streams, the lean relay vs the gateway (bench/streaming.ts)
 *   4. scale: the most streams one process sustains, relay and gateway, and what runs out first (bench/scale.ts)
 *   5. scale-out: one and two gateways on Redis, and what a listener on another instance costs (bench/scaleout.ts)
 *
 * The streaming baseline is bench/lean-relay.ts (as bench/raw-handler.ts is the request/response one).
 * BENCH_ONLY=hotpath or BENCH_ONLY=scaleout runs that section alone and prints its table instead of
 * writing RESULTS.md.
 *
 * Timings never go into pass/fail tests; this script only fails when the harness itself fails.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { runHotPath } from './hot-path.ts';
import { describeMachine } from './lib/machine.ts';
import { summarizeProfile } from './lib/profile.ts';
import { hotPathSection, renderResults, scaleOutSection } from './lib/report.ts';
import { withStreamRig } from './lib/stream-rig.ts';
import { runRequestResponse } from './request-response.ts';
import { runScale, SCALE_VARIANTS } from './scale.ts';
import { runScaleOut } from './scaleout.ts';
import { runStreaming } from './streaming.ts';

const quick = process.env.BENCH_QUICK === '1';
const TOKEN_INTERVAL_MS = 20;
const settings = {
  requestResponse: quick
    ? { runs: 1, durationSeconds: 1, warmupSeconds: 0, connections: 10, listRequests: 3 }
    : { runs: 3, durationSeconds: 2, warmupSeconds: 1, connections: 10, listRequests: 30 },
  // The measurement: 100 streams × 150 tokens every 20 ms, all opened at once.
  hotPath: { streams: quick ? 50 : 100, tokens: quick ? 30 : 150, runs: quick ? 1 : 3, tokenIntervalMs: TOKEN_INTERVAL_MS },
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

const rigSettings = {
  tokenIntervalMs: TOKEN_INTERVAL_MS,
  epochMs: Number(process.env.BENCH_EPOCH_MS),
  pgliteQuestions: settings.hotPath.streams,
};

if (process.env.BENCH_ONLY === 'hotpath') {
  log('2. hot path');
  const hotPath = await withStreamRig({ ...rigSettings, questions: settings.hotPath.streams }, (rig) =>
    runHotPath(rig, settings.hotPath, log),
  );
  await writeFile('bench/raw/hotpath-latest.json', `${JSON.stringify({ machine, quick, hotPath }, null, 1)}\n`);
  console.log(hotPathSection(hotPath));
  process.exit(0);
}

if (process.env.BENCH_ONLY === 'scaleout') {
  log('5. scale-out');
  const scaleOut = await runScaleOut(settings.scaleOut, Number(process.env.BENCH_EPOCH_MS), log);
  await writeFile('bench/raw/scaleout-latest.json', `${JSON.stringify({ machine, quick, scaleOut }, null, 1)}\n`);
  console.log(scaleOutSection(scaleOut));
  process.exit(0);
}

log('1. request/response');
const requestResponse = await runRequestResponse(settings.requestResponse, log);

const questions = Math.max(...settings.streaming.streamCounts, ...settings.scale.steps, settings.profileStreams);
const { hotPath, streaming, scale, profiles } = await withStreamRig({ ...rigSettings, questions }, async (rig) => {
  log('2. hot path');
  const hotPath = await runHotPath(rig, settings.hotPath, log);
  log('3. streaming');
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
  log('4. scale');
  const scale = [];
  for (const variant of SCALE_VARIANTS) scale.push(await runScale(rig, settings.scale, log, { variant }));
  return { hotPath, streaming, scale, profiles };
});
log('5. scale-out');
const scaleOut = await runScaleOut(settings.scaleOut, Number(process.env.BENCH_EPOCH_MS), log);

const wallSeconds = (performance.now() - started) / 1000;
const results = { machine, quick, wallSeconds, requestResponse, hotPath, streaming, scale, scaleOut, profiles };
await writeFile(`bench/raw/results-${machine.date.replaceAll(':', '-')}.json`, `${JSON.stringify(results, null, 1)}\n`);
await writeFile('bench/raw/latest.json', `${JSON.stringify(results, null, 1)}\n`);
await writeFile('bench/RESULTS.md', renderResults(results));
log(`done in ${wallSeconds.toFixed(0)} s: bench/RESULTS.md, bench/raw/latest.json`);

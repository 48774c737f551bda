/**
 * Loaded into the gateway with `node --import tsx --import ./bench/lib/loop-probe.ts src/main.ts`, so
 * the benchmark can see the gateway's CPU, memory and event-loop delay from inside without touching
 * src/. Answers the orchestrator's calls (window-start, window-end, profile-start, profile-stop) over
 * IPC; does nothing when started without an IPC channel.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveRpc } from './rpc.ts';

/** What the gateway spent between window-start and window-end. */
export interface ProbeWindow {
  wallMs: number;
  cpuMs: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  heapBeforeBytes: number;
  heapPeakBytes: number;
  loopDelayMs: { p50: number; p99: number; max: number };
}

const SAMPLE_EVERY_MS = 50;

if (process.send) {
  // A 10 ms sampling timer: fine enough for a p99 and cheap next to 1,000 streams. The histogram
  // holds the time between samples, so the delay is that minus the resolution.
  const LOOP_RESOLUTION_MS = 10;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const lateness = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - LOOP_RESOLUTION_MS);
  loopDelay.enable();
  let window: { started: number; cpu: NodeJS.CpuUsage; rss: number; heap: number; rssPeak: number; heapPeak: number } | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let session: Session | undefined;

  const sample = () => {
    if (!window) return;
    const { rss, heapUsed } = process.memoryUsage();
    window.rssPeak = Math.max(window.rssPeak, rss);
    window.heapPeak = Math.max(window.heapPeak, heapUsed);
  };

  serveRpc(
    {
      'window-start': () => {
        // A full collection first (the gateway runs with --expose-gc): the window starts from live data only.
        (globalThis as { gc?: () => void }).gc?.();
        const { rss, heapUsed } = process.memoryUsage();
        window = { started: performance.now(), cpu: process.cpuUsage(), rss, heap: heapUsed, rssPeak: rss, heapPeak: heapUsed };
        loopDelay.reset();
        clearInterval(sampler);
        sampler = setInterval(sample, SAMPLE_EVERY_MS);
        return {};
      },
      'window-end': (): ProbeWindow => {
        if (!window) throw new Error('window-end without window-start');
        sample();
        clearInterval(sampler);
        const cpu = process.cpuUsage(window.cpu);
        const result: ProbeWindow = {
          wallMs: performance.now() - window.started,
          cpuMs: (cpu.user + cpu.system) / 1000,
          rssBeforeBytes: window.rss,
          rssPeakBytes: window.rssPeak,
          heapBeforeBytes: window.heap,
          heapPeakBytes: window.heapPeak,
          loopDelayMs: { p50: lateness(loopDelay.percentile(50)), p99: lateness(loopDelay.percentile(99)), max: lateness(loopDelay.max) },
        };
        window = undefined;
        return result;
      },
      'profile-start': async () => {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
        return {};
      },
      'profile-stop': async ({ path }) => {
        if (!session) throw new Error('profile-stop without profile-start');
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        session = undefined;
        await writeFile(String(path), JSON.stringify(profile));
        return {};
      },
    },
    { keepAlive: false },
  );
}

/**
 * Section 4: scale-out. Gateways with REDIS_URL (a private redis-server) on one PostgreSQL schema:
 * the most concurrent streams one process and two processes sustain (section 3's criterion: per-token
 * p99 latency under 1.5 × the token interval while all N stream at once), and the gateway CPU each
 * token costs without Redis, with Redis and no listener elsewhere, and with a listener of every reply
 * on a second instance (its generator publishing to the Redis stream, its follower reading it).
 */
import { startPrivateRedis } from '../test/support/private-redis.ts';
import { type OverRuns, overRuns } from './lib/stats.ts';
import { type StreamMeasurement, withStreamRig } from './lib/stream-rig.ts';
import { runScale, type ScaleResults, type ScaleSettings } from './scale.ts';

export interface ScaleOutSettings {
  scale: ScaleSettings;
  /** Streams (one generation each) for the CPU-per-token figures, and their length. */
  cpuStreams: number;
  cpuTokens: number;
  /** Rounds of the three CPU measurements, interleaved so that a burst of outside load hits all three alike. */
  cpuRuns: number;
  tokenIntervalMs: number;
}

export interface CpuPerToken {
  /** Gateway CPU per generated token, µs, over rounds. */
  withoutRedis: OverRuns;
  redisNoRemoteListener: OverRuns;
  /** The generating instance's and the following instance's CPU per generated token. */
  withRemoteListener: { generator: OverRuns; follower: OverRuns };
  measurements: StreamMeasurement[];
}

export interface ScaleOutResults {
  settings: ScaleOutSettings;
  oneProcess: ScaleResults;
  twoProcesses: ScaleResults;
  cpuPerToken: CpuPerToken;
}

export async function runScaleOut(settings: ScaleOutSettings, epochMs: number, log: (line: string) => void): Promise<ScaleOutResults> {
  const redis = await startPrivateRedis();
  try {
    const questions = Math.max(...settings.scale.steps, settings.cpuStreams);
    const withRedis = { REDIS_URL: redis.url };
    return await withStreamRig(
      { questions, tokenIntervalMs: settings.tokenIntervalMs, epochMs, gatewayEnvs: [withRedis, withRedis, {}] },
      async (rig) => {
        log('  CPU per token');
        const measure = (streams: number, gateways: number[], sameQuestions = false) =>
          rig.measure('graphql-distinct', streams, {
            tokens: settings.cpuTokens,
            rampMs: streams * settings.scale.rampMsPerStream,
            gateways,
            sameQuestions,
          });
        const generated = settings.cpuStreams * settings.cpuTokens;
        const perToken = (cpuMs: number) => (cpuMs * 1000) / generated;
        const rounds: { alone: StreamMeasurement; published: StreamMeasurement; followed: StreamMeasurement }[] = [];
        for (let round = 0; round < settings.cpuRuns; round += 1) {
          const alone = await measure(settings.cpuStreams, [2]);
          const published = await measure(settings.cpuStreams, [0]);
          const followed = await measure(2 * settings.cpuStreams, [0, 1], true);
          rounds.push({ alone, published, followed });
          log(
            `  µs per token: no Redis ${perToken(alone.perGateway[0]!.cpuMs).toFixed(0)}, Redis without a remote listener ` +
              `${perToken(published.perGateway[0]!.cpuMs).toFixed(0)}, with one: generator ${perToken(followed.perGateway[0]!.cpuMs).toFixed(0)} ` +
              `+ follower ${perToken(followed.perGateway[1]!.cpuMs).toFixed(0)} (failed streams: ${followed.client.failed})`,
          );
        }
        const over = (pick: (round: (typeof rounds)[number]) => number) => overRuns(rounds.map(pick));
        const cpuPerToken: CpuPerToken = {
          withoutRedis: over((r) => perToken(r.alone.perGateway[0]!.cpuMs)),
          redisNoRemoteListener: over((r) => perToken(r.published.perGateway[0]!.cpuMs)),
          withRemoteListener: {
            generator: over((r) => perToken(r.followed.perGateway[0]!.cpuMs)),
            follower: over((r) => perToken(r.followed.perGateway[1]!.cpuMs)),
          },
          measurements: rounds.flatMap((r) => [r.alone, r.published, r.followed]),
        };
        log('  one process (REDIS_URL set)');
        const oneProcess = await runScale(rig, settings.scale, log, { gateways: [0] });
        log('  two processes (REDIS_URL set, streams split between them)');
        const twoProcesses = await runScale(rig, settings.scale, log, { gateways: [0, 1] });
        return { settings, oneProcess, twoProcesses, cpuPerToken };
      },
    );
  } finally {
    await redis.close();
  }
}

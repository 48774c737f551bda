/**
 * The TGI stand-in (test/support/tgi-standin.ts) in its own process, pacing every stream on one
 * shared ticker and stamping each token with its write time. Its own process because at 1,000
 * streams it writes 50,000 chunks a second: in the orchestrator or the load generator it would
 * delay their timers and skew the latencies they record; here it competes only for CPU, which the
 * report shows.
 *
 * A token's text is `|<sent>` (and `|<sent>~<received>` for the first one): microseconds since
 * BENCH_EPOCH_MS in base 36, so that a stamped token is about as long as a real one (a few
 * characters) and the gateway's memory per stream is not inflated by the stamps.
 */
import { startTgiStandin } from '../../test/support/tgi-standin.ts';
import { serveRpc } from './rpc.ts';
import { epochMicros, stamp } from './stamps.ts';

const tickMs = Number(process.env.BENCH_TICK_MS ?? 20);
const tgi = await startTgiStandin({
  keepAliveMs: 0,
  sharedTickMs: tickMs,
  stampToken: (text, { receivedAt, sentAt }) =>
    text === 'first' ? stamp(epochMicros(sentAt), epochMicros(receivedAt)) : stamp(epochMicros(sentAt)),
});

serveRpc(
  {
    url: () => tgi.url,
    /** Every stream from now on: `tokens` tokens, one per tick. */
    configure: ({ tokens }) => {
      const texts = Array.from({ length: Number(tokens) }, (_, i) => (i === 0 ? 'first' : 'next'));
      tgi.setDefault({ kind: 'tokens', tokens: texts, pacing: { intervalMs: tickMs } });
      return {};
    },
    cpuMs: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    },
  },
  { keepAlive: true },
);
// The IPC channel would keep this process alive after the server closed.
process.once('SIGTERM', () => void tgi.close().then(() => process.exit(0)));

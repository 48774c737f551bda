/**
 * `npm run dev:model`: a model server for trying the gateway without a GPU. It speaks TGI's Messages
 * API (the TGI stand-in of the tests) and answers every chat completion with one of TGI's own
 * recorded streams (test/fixtures/tgi-streams), taking them in turn, at about the pace of an 8B model
 * on one GPU. Listens on 127.0.0.1:8080 (HOST, PORT); point the gateway at it with
 * TGI_URL=http://127.0.0.1:8080.
 */
import { startTgiStandin } from '../test/support/tgi-standin.ts';

/** The long story first: it is the one that shows tokens streaming. */
const RECORDINGS = ['sea_creatures_stream_none', 'completion_stream_usage', 'json_schema_stream', 'chat_hfhub_usage'];
const PACING = { firstTokenDelayMs: 250, intervalMs: 30 };

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), not ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}

let next = 0;
const model = await startTgiStandin({
  host,
  port,
  defaultBehaviour: () => ({ kind: 'replay', recording: RECORDINGS[next++ % RECORDINGS.length]!, pacing: PACING }),
});
console.log(`TGI stand-in listening on ${model.url}, replaying ${RECORDINGS.length} recorded streams in turn`);
console.log(`Start the gateway against it: TGI_URL=${model.url} npm start`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void model.close());
}

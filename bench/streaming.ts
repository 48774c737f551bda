/**
 * `npm run bench`: what the gateway adds to a token stream. One TGI stand-in paces tokens; the same
 * stream is read directly from it and through the gateway's SSE route (gateway in its own process,
 * PGlite in memory), and token arrival times are compared index by index.
 * Writes bench/RESULTS.md and bench/raw/streaming.json.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { createParser } from 'eventsource-parser';
import { startTgiStandin } from '../test/support/tgi-standin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 300);
const INTERVAL_MS = 20;
const PORT = 4500 + Math.floor(Math.random() * 400);

const tokens = Array.from({ length: TOKENS }, (_, i) => ` tok${i}`);
const tgi = await startTgiStandin({ keepAliveMs: 0 });
tgi.setDefault({ kind: 'tokens', tokens, pacing: { intervalMs: INTERVAL_MS } });

const gateway = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: { ...process.env, PORT: String(PORT), DATABASE_URL: 'memory://', TGI_URL: tgi.url, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${PORT}`;

try {
  await waitForHealth();
  const direct: number[][] = [];
  const viaGateway: number[][] = [];
  // Run 0 warms both paths up (JIT, Prisma's first queries) and is not counted.
  for (let run = -1; run < RUNS; run += 1) {
    direct.push(await arrivals(() => fetch(`${tgi.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tgi', stream: true, messages: [{ role: 'user', content: 'bench' }] }),
    }), (data) => (data === '[DONE]' ? null : JSON.parse(data).choices?.[0]?.delta?.content ?? '')));
    const id = await question();
    viaGateway.push(await arrivals(() => fetch(`${base}/conversations/inference/${id}`), (data, event) =>
      event === 'token' ? JSON.parse(data).text : '',
    ));
    if (run < 0) {
      direct.pop();
      viaGateway.pop();
    }
  }
  const ttft = direct.map((times, run) => viaGateway[run]![0]! - times[0]!);
  const perToken = direct.flatMap((times, run) =>
    times.slice(1).map((time, i) => viaGateway[run]![i + 1]! - viaGateway[run]![i]! - (time - times[i]!)),
  );
  const added = direct.flatMap((times, run) => times.map((time, i) => viaGateway[run]![i]! - time));
  const results = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, date: new Date().toISOString() },
    settings: { runs: RUNS, tokensPerRun: TOKENS, tokenIntervalMs: INTERVAL_MS },
    ttftAddedMs: summary(ttft),
    perTokenGapAddedMs: summary(perToken),
    arrivalDelayAddedMs: summary(added),
  };
  await mkdir('bench/raw', { recursive: true });
  await writeFile('bench/raw/streaming.json', `${JSON.stringify({ ...results, direct, viaGateway }, null, 1)}\n`);
  await writeFile('bench/RESULTS.md', markdown(results));
  console.log(markdown(results));
} finally {
  gateway.kill('SIGTERM');
  await tgi.close();
}

/** Arrival time (ms since the request started) of each non-empty token. */
async function arrivals(request: () => Promise<Response>, tokenOf: (data: string, event?: string) => string | null) {
  const started = performance.now();
  const response = await request();
  const times: number[] = [];
  const parser = createParser({
    onEvent: (message) => {
      const text = tokenOf(message.data, message.event);
      if (text) times.push(performance.now() - started);
    },
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(chunk.value);
  if (times.length !== TOKENS) throw new Error(`expected ${TOKENS} tokens, got ${times.length}`);
  return times;
}

async function question(): Promise<string> {
  const post = async (path: string, body: unknown) =>
    (await (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string };
  const chat = await post('/chats/create', { name: 'bench' });
  return (await post('/conversations/create', { chat_id: chat.id, role: 'Human', message: 'bench' })).id;
}

async function waitForHealth() {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('gateway did not become healthy');
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { n: sorted.length, median: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1)!) };
}

function round(value: number) {
  return Math.round(value * 1000) / 1000;
}

// biome-ignore lint/suspicious/noExplicitAny: report formatting only
function markdown(r: Record<string, any>) {
  const row = (name: string, s: { n: number; median: number; p99: number; max: number }) =>
    `| ${name} | ${s.n} | ${s.median} | ${s.p99} | ${s.max} |`;
  return `# Benchmark results

Machine: ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}, ${r.machine.date}.
One stream at a time, ${r.settings.runs} runs × ${r.settings.tokensPerRun} tokens paced at ${r.settings.tokenIntervalMs} ms by the TGI
stand-in; read directly from the stand-in, then through \`GET /conversations/inference/<id>\` (gateway in its own
process, PGlite in memory). Figures are gateway minus direct, in milliseconds.

| what the gateway adds | samples | median | p99 | max |
|---|---|---|---|---|
${row('time to first token', r.ttftAddedMs)}
${row('gap between consecutive tokens', r.perTokenGapAddedMs)}
${row('arrival delay of each token', r.arrivalDelayAddedMs)}

Raw arrival times: \`bench/raw/streaming.json\` (not committed).
`;
}

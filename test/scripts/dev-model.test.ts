/**
 * `npm run dev:model` as a newcomer runs it: a TGI stand-in on a socket that streams TGI's recorded
 * streams at a GPU's pace, which the gateway can use as its model server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chatCompletionStream } from '@huggingface/inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, jsonInit } from '../support/app.ts';
import { readSse, tokensOf } from '../support/sse.ts';
import { recordedContent } from '../support/tgi-standin.ts';

let child: ChildProcess;
let exited: Promise<number | null>;
let url: string;

// The script needs no database: the PGlite project covers it.
describe.skipIf(process.env.TEST_STORE === 'postgres')('npm run dev:model', () => {
  beforeAll(async () => {
    // Its own process group, so that a signal reaches npm and the script it runs alike.
    child = spawn('npm', ['run', '--silent', 'dev:model'], {
      env: { ...process.env, PORT: '0' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let output = '';
    url = await new Promise<string>((resolve, reject) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /listening on (http:\/\/\S+),/.exec(output);
        if (listening) resolve(listening[1]!);
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      void exited.then((code) => reject(new Error(`dev:model exited (${code}) before listening:\n${output}`)));
    });
  });

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    await exited;
  });

  /** One chat completion, streamed by the real client; with when each chunk arrived. */
  async function complete() {
    const arrivals: number[] = [];
    let content = '';
    for await (const chunk of chatCompletionStream({ endpointUrl: url, messages: [{ role: 'user', content: 'Hello?' }] })) {
      arrivals.push(performance.now());
      content += chunk.choices[0]?.delta.content ?? '';
    }
    return { content, arrivals };
  }

  it('streams the recorded TGI streams in turn, token by token', async () => {
    const first = await complete();
    expect(first.content).toBe(recordedContent('sea_creatures_stream_none'));
    expect(first.arrivals.length).toBe(100);
    // Paced (about 30 ms a token), not written at once: a generous floor that load can only raise.
    expect(first.arrivals.at(-1)! - first.arrivals[0]!).toBeGreaterThan(500);

    expect((await complete()).content).toBe(recordedContent('completion_stream_usage'));
  });

  it('is a model server for the gateway (TGI_URL=<its URL>)', async () => {
    const app = await createTestApp({ TGI_URL: url });
    try {
      const chat = await (await app.request('/chats/create', jsonInit('POST', { name: 'first try' }))).json();
      const asked = await app.request('/conversations/create', jsonInit('POST', { chat_id: chat.id, role: 'Human', message: 'Hi' }));
      const { id } = (await asked.json()) as { id: string };

      const events = await readSse(await app.request(`/conversations/inference/${id}`));

      expect(tokensOf(events)).toBe(recordedContent('json_schema_stream'));
      expect(events.at(-1)?.event).toBe('done');
    } finally {
      await app.close();
    }
  });

  it('stops on SIGTERM', async () => {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

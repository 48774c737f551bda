import { chatCompletion, chatCompletionStream, InferenceClientProviderApiError } from '@huggingface/inference';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRecording, recordedContent, startTgiStandin, type TgiStandin } from './tgi-standin.ts';

// The chunk type lives in @huggingface/tasks, which is not a direct dependency.
type ChatCompletionStreamOutput = ReturnType<typeof chatCompletionStream> extends AsyncGenerator<infer T> ? T : never;

const messages = [{ role: 'user', content: 'Tell me a story about sea creatures.' }];

let tgi: TgiStandin;
beforeEach(async () => {
  tgi = await startTgiStandin();
});
afterEach(async () => {
  await tgi.close();
});

/** Drains a stream, keeping what arrived before a failure so tests can assert on both. */
async function consume(stream: AsyncIterable<ChatCompletionStreamOutput>) {
  const chunks: ChatCompletionStreamOutput[] = [];
  let error: unknown;
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (err) {
    error = err;
  }
  const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  return { chunks, content, error };
}

const stream = (extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
  chatCompletionStream({ endpointUrl: tgi.url, messages, max_tokens: 200, ...extra }, { signal });

describe('TGI stand-in against @huggingface/inference', () => {
  it('is what the client posts to: <endpointUrl>/v1/chat/completions, the endpoint URL as model, no usage request', async () => {
    await consume(stream());

    const [request] = await tgi.waitForRequests(1);
    expect(request?.body).toEqual({ messages, max_tokens: 200, stream: true, model: tgi.url });
    expect(request?.headers['user-agent']).toBe('@huggingface/inference/4.13.30');
    expect(request?.finished).toBe(true);
    expect(request?.clientClosed).toBe(false);
  });

  it('replays a recorded stream with the same concatenated content', async () => {
    tgi.script({ kind: 'replay', recording: 'sea_creatures_stream_none' });

    const { chunks, content, error } = await consume(stream());

    expect(error).toBeUndefined();
    expect(content).toBe(recordedContent('sea_creatures_stream_none'));
    expect(chunks).toEqual(loadRecording('sea_creatures_stream_none'));
  });

  it('replays the recorded chunk JSON byte for byte, then [DONE]', async () => {
    tgi.script({ kind: 'replay', recording: 'chat_hfhub_usage' });

    const res = await fetch(`${tgi.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages, stream: true }),
    });

    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const expected = loadRecording('chat_hfhub_usage').map((c) => `data: ${JSON.stringify(c)}\n\n`);
    expect(await res.text()).toBe(`${expected.join('')}data: [DONE]\n\n`);
  });

  it('streams token texts as TGI chunks, with the EOS chunk and the usage chunk when asked for', async () => {
    tgi.script({ kind: 'tokens', tokens: ['Hello', ',', ' "world"\n'], promptTokens: 12 });

    const { chunks, content } = await consume(stream({ stream_options: { include_usage: true } }));

    expect(content).toBe('Hello, "world"\n');
    expect(chunks[0]).toEqual({
      object: 'chat.completion.chunk',
      id: '',
      created: expect.any(Number),
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      system_fingerprint: '3.3.6-dev0-native',
      choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello', tool_calls: null }, logprobs: null, finish_reason: null }],
      usage: null,
    });
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: { content: '' }, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 } });
  });

  it("stops at the request's max_tokens with finish_reason 'length' on the last token", async () => {
    tgi.script({ kind: 'tokens', tokens: ['a', 'b', 'c', 'd'] });

    const { chunks, content } = await consume(stream({ max_tokens: 2 }));

    expect(content).toBe('ab');
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([null, 'length']);
  });

  it('paces chunks after a first-token delay', async () => {
    tgi.script({ kind: 'tokens', tokens: ['a', 'b', 'c'], pacing: { firstTokenDelayMs: 60, intervalMs: 15 } });

    const startedAt = performance.now();
    const { content } = await consume(stream());
    const elapsed = performance.now() - startedAt;

    expect(content).toBe('abc');
    const [request] = tgi.requests;
    // Node timers run on the event loop's cached clock, which can trail performance.now() by a ms or two.
    expect(request!.firstTokenAt! - request!.receivedAt).toBeGreaterThanOrEqual(55);
    expect(elapsed).toBeGreaterThanOrEqual(60 + 3 * 15 - 5);
  });

  it('rejects with the TGI error message when answered 429 before the stream', async () => {
    tgi.script({ kind: 'http-error', errorType: 'overloaded' });

    const { chunks, error } = await consume(stream());

    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error).toMatchObject({
      name: 'ProviderApiError',
      message: 'Failed to perform inference: Model is overloaded',
      httpResponse: { status: 429, body: { error: 'Model is overloaded', error_type: 'overloaded' } },
    });
  });

  it('surfaces an in-stream error frame after the first tokens', async () => {
    tgi.script({
      kind: 'error-frame',
      afterTokens: ['Once', ' upon'],
      errorType: 'generation',
      message: 'Request failed during generation: CUDA out of memory',
    });

    const { content, error } = await consume(stream());

    expect(content).toBe('Once upon');
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error).toMatchObject({
      message:
        'Failed to perform inference: an occurred while streaming the response: Request failed during generation: CUDA out of memory',
      httpResponse: {
        status: 200,
        body: { error: 'Request failed during generation: CUDA out of memory', error_type: 'generation' },
      },
    });
  });

  it('surfaces a connection dropped mid-stream as TypeError: terminated', async () => {
    tgi.script({ kind: 'drop', afterTokens: ['Once', ' upon'], pacing: { intervalMs: 5 } });

    const { content, error } = await consume(stream());

    expect(content).toBe('Once upon');
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: 'terminated', cause: { code: 'UND_ERR_SOCKET' } });
    expect(tgi.requests[0]).toMatchObject({ tokensSent: 2, finished: false, clientClosed: false });
  });

  it('records the client hanging up a stalled stream through its AbortSignal', async () => {
    tgi.script({ kind: 'stall', afterTokens: ['Once'] });
    const controller = new AbortController();

    const received: string[] = [];
    const consumed = (async () => {
      for await (const chunk of stream({}, controller.signal)) {
        received.push(chunk.choices[0]?.delta.content ?? '');
        controller.abort();
      }
    })();

    await expect(consumed).rejects.toMatchObject({ name: 'AbortError' });
    const request = await tgi.waitForClientClose(0);
    expect(received).toEqual(['Once']);
    expect(request).toMatchObject({ clientClosed: true, finished: false, tokensSent: 1 });
    expect(request.closedAt).toBeGreaterThan(request.receivedAt);
  });

  it('records the client hanging up while waiting for a first token', async () => {
    tgi.script({ kind: 'no-first-token' });
    const controller = new AbortController();

    const consumed = consume(stream({}, controller.signal));
    await tgi.waitForRequests(1);
    controller.abort();

    expect((await consumed).error).toMatchObject({ name: 'AbortError' });
    expect(await tgi.waitForClientClose(0)).toMatchObject({ clientClosed: true, tokensSent: 0 });
  });

  it('rejects waitForClientClose when the stream ends normally', async () => {
    await consume(stream());

    await expect(tgi.waitForClientClose(0)).rejects.toThrow('request 0 ended without a client hang-up (finished: true)');
  });

  it('answers a non-streaming request with a plain completion', async () => {
    tgi.script({ kind: 'tokens', tokens: ['Hi', '!'] });

    const out = await chatCompletion({ endpointUrl: tgi.url, messages, max_tokens: 20 });

    expect(out.choices[0]?.message.content).toBe('Hi!');
    expect(out.choices[0]?.finish_reason).toBe('stop');
  });

  it('serves /health and /info', async () => {
    expect((await fetch(`${tgi.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${tgi.url}/info`)).json()).toMatchObject({
      model_id: 'meta-llama/Llama-3.1-8B-Instruct',
      router: 'text-generation-router',
    });
  });
});

import { chatCompletionStream, InferenceClientProviderApiError } from '@huggingface/inference';
import type { InferenceConfig } from '../config.ts';
import { currentRequest } from '../observability/request-context.ts';
import { createHttpFetch } from './http-fetch.ts';

export type ChatMessage = {
  role: 'system' | 'user' | 'assistant';
  content: string;
};

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** What the model sends, reduced to what the gateway uses. */
export type ModelDelta = { kind: 'text'; text: string } | { kind: 'finish'; reason: string } | { kind: 'usage'; usage: Usage };

/**
 * What listeners are told, and the reply stores, for each way the model server can fail. What the
 * server said goes to the log only: its error text can name hosts, addresses, GPUs and tokens.
 */
const UPSTREAM_ERROR_DETAILS = {
  UPSTREAM_ERROR: 'The model server failed to generate the reply',
  UPSTREAM_OVERLOADED: 'The model server is overloaded; try again later',
  UPSTREAM_REJECTED: 'The model server refused the request, for example because the chat is too long for the model',
  UPSTREAM_TIMEOUT: 'The model server did not answer in time',
} as const;

export const UPSTREAM_ERROR_CODES = Object.keys(UPSTREAM_ERROR_DETAILS) as UpstreamErrorCode[];

export type UpstreamErrorCode = keyof typeof UPSTREAM_ERROR_DETAILS;

/** A failure of the model server: `message` is for the listener, `reason` for the operator's log. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly code: UpstreamErrorCode,
    readonly reason: string,
  ) {
    super(UPSTREAM_ERROR_DETAILS[code]);
  }
}

export interface ChatModel {
  stream(messages: ChatMessage[], signal: AbortSignal): AsyncIterable<ModelDelta>;
}

/**
 * The model behind `@huggingface/inference`'s chatCompletionStream: a TGI server's Messages API
 * (`POST <TGI_URL>/v1/chat/completions`) or a Hugging Face hosted model. Timeouts are enforced here
 * so that a silent upstream always ends in an UpstreamError, never in a hang.
 */
export function createChatModel(config: InferenceConfig): ChatModel | null {
  const { upstream } = config;
  if (!upstream) return null;
  const target =
    'endpointUrl' in upstream
      ? { endpointUrl: upstream.endpointUrl, accessToken: upstream.accessToken, model: 'tgi' }
      : { model: upstream.model, accessToken: upstream.accessToken };
  const fetch = withRequestId(createHttpFetch());
  return {
    async *stream(messages, signal) {
      // A listener added to an already aborted signal never fires.
      signal.throwIfAborted();
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      let timedOut: UpstreamError | undefined;
      let timer: NodeJS.Timeout | undefined;
      const arm = (ms: number, what: string) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = new UpstreamError('UPSTREAM_TIMEOUT', `no ${what} within ${ms} ms`);
          controller.abort(timedOut);
        }, ms);
      };
      arm(config.firstTokenTimeoutMs, 'first token');
      try {
        const chunks = chatCompletionStream(
          {
            ...target,
            messages,
            max_tokens: config.maxTokens,
            temperature: config.temperature,
            stream_options: { include_usage: true },
          },
          // A 503 would otherwise be retried at once, forever.
          { signal: controller.signal, retry_on_error: false, fetch },
        );
        for await (const chunk of chunks) {
          arm(config.idleTimeoutMs, 'token');
          const choice = chunk.choices?.[0];
          if (choice?.delta?.content) yield { kind: 'text', text: choice.delta.content };
          if (choice?.finish_reason) yield { kind: 'finish', reason: choice.finish_reason };
          if (chunk.usage) {
            yield {
              kind: 'usage',
              usage: {
                promptTokens: chunk.usage.prompt_tokens,
                completionTokens: chunk.usage.completion_tokens,
                totalTokens: chunk.usage.total_tokens,
              },
            };
          }
        }
      } catch (error) {
        if (timedOut) throw timedOut;
        if (signal.aborted) throw error;
        throw toUpstreamError(error);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** `fetch`, plus the id of the request being served, so that the model server's logs can be matched with ours. */
function withRequestId(fetch: typeof globalThis.fetch): typeof globalThis.fetch {
  return (input, init) => {
    const requestId = currentRequest()?.requestId;
    if (requestId === undefined) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('x-request-id', requestId);
    return fetch(input, { ...init, headers });
  };
}

function toUpstreamError(error: unknown): UpstreamError {
  if (error instanceof InferenceClientProviderApiError) {
    const status = error.httpResponse.status;
    const reason = `HTTP ${status}: ${error.message.replace(/^Failed to perform inference: /, '')}`;
    if (status === 429) return new UpstreamError('UPSTREAM_OVERLOADED', reason);
    if (status === 422 || status === 400) return new UpstreamError('UPSTREAM_REJECTED', reason);
    return new UpstreamError('UPSTREAM_ERROR', reason);
  }
  // undici reports a dropped connection as `TypeError: terminated` / `fetch failed`, the why in its cause.
  const { message, cause } = error as Error;
  const because = cause instanceof Error ? ` (${cause.message})` : '';
  return new UpstreamError('UPSTREAM_ERROR', `connection failed: ${message}${because}`);
}

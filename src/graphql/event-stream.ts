import type { ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { EventStreamBody, type EventTextSource } from '../http/direct-body.ts';

/**
 * Subscriptions over Yoga's own SSE (graphql-sse's "distinct connections" mode on /graphql), written
 * with the wire of Yoga's SSE result processor (`:` first, `event: next` per result, `event: complete`
 * at the end) but as an EventStreamBody: the HTTP server writes each event straight to the socket,
 * where Yoga's processor enqueued two encoded chunks per event into a web stream that Hono's adapter
 * then read back. Single results (a subscription refused at its start) stay with Yoga's processor.
 */
export function directEventStreams(keepAliveMs: number): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (!isAsyncIterable(result) || !request.headers.get('accept')?.toLowerCase().includes('text/event-stream')) return;
      setResultProcessor(
        // The platform's Response, not Yoga's fetchAPI one: that one wraps the body in a new stream, and
        // the HTTP server would no longer see an EventStreamBody.
        (results) =>
          new Response(
            new EventStreamBody(eventsOf(results as AsyncIterable<ExecutionResult>), {
              opening: ':\n\n',
              keepAlive: { text: ':\n\n', everyMs: keepAliveMs },
            }),
            { status: 200, headers: EVENT_STREAM_HEADERS },
          ),
        'text/event-stream',
      );
    },
  };
}

/** Yoga's, so that clients see the same response from either processor. */
const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  connection: 'keep-alive',
  'cache-control': 'no-cache',
  'content-encoding': 'none',
};

function eventsOf(results: AsyncIterable<ExecutionResult>): EventTextSource {
  const iterator = results[Symbol.asyncIterator]();
  let completed = false;
  return {
    async next() {
      if (completed) return undefined;
      const { value, done } = await iterator.next();
      if (!done) return `event: next\ndata: ${resultJson(value)}\n\n`;
      completed = true;
      return 'event: complete\ndata:\n\n';
    },
    // A source that fails while being let go has nothing more to say to a client that left.
    stop: () => void iterator.return?.()?.catch(() => {}),
  };
}

/** A result as Yoga sends it: errors without the extensions that are for Yoga alone (`http`, `unexpected`). */
function resultJson(result: ExecutionResult & { stringify?: (result: ExecutionResult) => string }): string {
  const stringify = result.stringify ?? JSON.stringify;
  if (!result.errors?.length && !result.extensions?.http) return stringify(result);
  const { http: _http, ...extensions } = result.extensions ?? {};
  return stringify({
    ...result,
    errors: result.errors?.map(withoutInternalExtensions),
    extensions: Object.keys(extensions).length > 0 ? extensions : undefined,
  });
}

function withoutInternalExtensions(error: GraphQLError): object {
  const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions ?? {};
  return { ...error.toJSON(), extensions: Object.keys(extensions).length > 0 ? extensions : undefined };
}

import type { Plugin } from 'graphql-yoga';
import { AppError } from '../errors.ts';

/**
 * A subscription asked for by a client that cannot take an event stream (`Accept: application/json`) is
 * refused before it starts: Yoga would subscribe first (taking a stream slot, possibly starting a paid
 * generation) and only then answer 406, never ending the subscription it started. Single-connection
 * requests (`singleConnectionPath`) stream over a connection of their own and are not concerned.
 */
export function subscriptionsNeedAStream(singleConnectionPath: string): Plugin<{ request: Request }> {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const { request } = args.contextValue;
      if (new URL(request.url).pathname === singleConnectionPath) return;
      const accept = request.headers.get('accept');
      if (!accept || /text\/event-stream|\*\/\*|text\/\*/.test(accept)) return;
      setResultAndStopExecution({
        errors: [new AppError('NOT_ACCEPTABLE', 'A subscription is an event stream: send Accept: text/event-stream (graphql-sse)')],
      });
    },
  };
}

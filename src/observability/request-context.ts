import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the code a request runs knows about that request without being handed it: every log line
 * carries it (the logger's mixin) and the model server is sent its id. Work a request starts lives on
 * in its context, so a generation keeps its starter's id to the end, whoever else joins it.
 */
export interface RequestContext {
  readonly requestId: string;
  /** The GraphQL operation the request runs, once Yoga has picked it. */
  graphqlOperation?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The context of the request whose work is running, if any (not in timers the app itself set). */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

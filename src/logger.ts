import { type DestinationStream, pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { currentRequest } from './observability/request-context.ts';

export type { Logger };

/** JSON lines on stdout (or `destination`); a line logged while a request's work runs names that request. */
export function createLogger(config: Pick<Config, 'log'>, destination?: DestinationStream): Logger {
  const options = { level: config.log.level, base: { service: 'chat-gateway' }, mixin: requestFields };
  return destination ? pino(options, destination) : pino(options);
}

/** A new object each time: pino merges the line's own fields into what the mixin returns. */
function requestFields(): { requestId?: string; graphqlOperation?: string } {
  const request = currentRequest();
  if (!request) return {};
  return request.graphqlOperation === undefined
    ? { requestId: request.requestId }
    : { requestId: request.requestId, graphqlOperation: request.graphqlOperation };
}

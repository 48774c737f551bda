import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.ts';
import { currentRequest } from './observability/request-context.ts';

export type { Logger };

/** Credentials that log fields may carry under these names (request headers, options, configuration). */
const SECRET_PATHS = [
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
  'accessToken',
  '*.accessToken',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
];

/**
 * Credentials inside text (error messages, upstream answers, URLs), which no path can name: Hugging
 * Face tokens, bearer tokens, and `api_key=`-style query parameters (SerpAPI puts its key in the URL).
 */
const SECRETS_IN_TEXT: [RegExp, string][] = [
  [/\bhf_[A-Za-z0-9]{8,}/g, 'hf_[REDACTED]'],
  [/\b(Bearer\s+)[\w.~+/-]+=*/gi, '$1[REDACTED]'],
  [/\b(api_key|apikey|access_token|token)=[^&\s"'\\]+/gi, '$1=[REDACTED]'],
];

/** `line` (one serialized log record) with every credential found in its text replaced. */
export function scrubSecrets(line: string): string {
  return SECRETS_IN_TEXT.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), line);
}

/** Shorter values could be ordinary words: only real credentials are searched for verbatim. */
const MIN_SECRET_LENGTH = 8;

/**
 * The service's logger. Besides the patterns above, the configured credentials themselves (HF_TOKEN,
 * SERPAPI_API_KEY) are removed wherever they appear, whatever their format. `destination` (default:
 * stdout) is for tests that read what is logged.
 */
export function createLogger(config: Pick<Config, 'log' | 'inference' | 'search'>, destination?: DestinationStream): Logger {
  const configured = [config.inference.upstream?.accessToken, config.search?.apiKey].filter(
    (secret): secret is string => secret !== undefined && secret.length >= MIN_SECRET_LENGTH,
  );
  const options = {
    level: config.log.level,
    base: { service: 'chat-gateway' },
    mixin: requestFields,
    redact: { paths: SECRET_PATHS, censor: '[REDACTED]' },
    hooks: {
      streamWrite: (line: string) => configured.reduce((text, secret) => text.replaceAll(secret, '[REDACTED]'), scrubSecrets(line)),
    },
  };
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

import { GraphQLError } from 'graphql';
import type { z } from 'zod';

/** Every failure a client can see, with the HTTP status both faces (GraphQL and REST) answer with. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  /** A GraphQL operation beyond a limit of depth, cost, aliases, tokens or directives. */
  QUERY_TOO_COMPLEX: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  REDIS_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The one error type of the domain. It is a GraphQLError, so Yoga sends its message and
 * `extensions.code` unmasked; the REST layer renders the same object as `{"detail", "code"}` with the
 * same status. Yoga answers with `extensions.http.status` only to clients that accept
 * `application/graphql-response+json` (`spec: true`): as the GraphQL-over-HTTP spec has it, a client of
 * `application/json` gets 200 and reads `errors` (Apollo Client 3 reports any other status as a network
 * error and drops them).
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  readonly status: number;
  /** Response headers that go with the error on both faces (Retry-After, RateLimit-*, WWW-Authenticate). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    const status = ERROR_STATUS[code];
    const headers = options.headers ?? {};
    super(message, { extensions: { code, http: { status, headers, spec: true } }, originalError: asError(options.cause) });
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }

  /** The REST face of the error: `{"detail", "code"}`. */
  restBody() {
    return { detail: this.message, code: this.code };
  }

  /** The GraphQL face of an error refused before any operation ran (a request error of GraphQL over HTTP). */
  graphqlBody() {
    return { errors: [{ message: this.message, extensions: { code: this.code } }] };
  }
}

/** The code for an HTTP status set by a library rather than by us. */
export function codeForStatus(status: number): ErrorCode {
  const known = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((code) => ERROR_STATUS[code] === status);
  return known ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
}

function asError(cause: unknown): Error | undefined {
  return cause instanceof Error ? cause : undefined;
}

export function notFound(entity: 'Chat' | 'Conversation' | 'API key', id: string): AppError {
  return new AppError('NOT_FOUND', `${entity} ${JSON.stringify(id)} not found`);
}

/** One readable sentence for all problems of an input, e.g. "name must not be empty; role must be …". */
export function validationFailed(error: z.ZodError): AppError {
  const detail = [...new Set(error.issues.map((issue) => issue.message))].join('; ');
  return new AppError('VALIDATION_FAILED', detail);
}

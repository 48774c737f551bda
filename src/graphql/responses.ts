import { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { AppError, codeForStatus } from '../errors.ts';

/** Yoga's response made ready for the app's middlewares (CORS, security headers) and clients. */
export function servedResponse(response: Response): Response | Promise<Response> {
  return withNativeBody(explainRefusal(response));
}

/**
 * Yoga refuses a few requests with an empty body (406 for an Accept it cannot serve, 415 for a body
 * type it cannot read). GraphQL clients get the usual `{"errors": [{message, extensions: {code}}]}`
 * instead, with the same status and headers.
 */
function explainRefusal(response: Response): Response {
  if (response.status < 400 || response.body !== null) return response;
  const code = codeForStatus(response.status);
  const served = response.status === 406 ? response.headers.get('accept') : null;
  const reason = response.statusText || code;
  const message = served ? `${reason}: this endpoint answers ${served}` : reason;
  const headers = new Headers(response.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(new AppError(code, message).graphqlBody()), { status: response.status, headers });
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Hono's middlewares that add headers (hono/cors) re-create the response around its body. Yoga's
 * body is a @whatwg-node stream, which Node's fetch then reads as an async iterable, and throws an
 * uncaught exception (the process exits) when a client hangs up on an event stream. A body that is
 * already a Node stream is passed along as it is.
 */
function withNativeBody(response: Response): Response | Promise<Response> {
  const type = response.headers.get('content-type') ?? '';
  if (!NULL_BODY_STATUSES.has(response.status) && !type.startsWith('text/event-stream') && !type.startsWith('multipart/')) {
    // A whole result: as text, which the node adapter writes at once with its length, where a stream
    // would be read piece by piece (a quarter of a small query's cost).
    return response
      .text()
      .then((text) => new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers }));
  }
  if (!response.body || response.body instanceof ReadableStream) return response;
  const body = NodeReadableStream.from(response.body as AsyncIterable<Uint8Array>) as ReadableStream<Uint8Array>;
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin } from 'graphql-yoga';
import { ERROR_STATUS } from '../errors.ts';

/**
 * graphql-sse on `endpoint` (its "single connection" mode, and its "distinct connections" mode), as
 * @graphql-yoga/plugin-graphql-sse serves it, except for what a client gets wrong:
 * - a document that does not parse or validate is answered as its one GraphQL result, like on
 *   /graphql. Yoga's plugin lets the syntax error escape (a 500) and returns validation errors
 *   without `data`, which graphql-sse takes for execution arguments: the client got 400 "Unable to
 *   detect operation AST", read it as a network error and retried;
 * - graphql-sse's own protocol refusals (no such stream, no query, a body that is not a JSON
 *   object…) get the code of their status, as every other refusal has one.
 */
export function useGraphQLSSE(endpoint: string): Plugin {
  const serverContexts = new WeakMap<Request, object>();
  let handler: (request: Request) => Promise<Response>;
  return {
    onYogaInit({ yoga }) {
      handler = createHandler(
        {
          async onSubscribe(request, params) {
            const enveloped = yoga.getEnveloped({ ...serverContexts.get(request.raw), request: request.raw, params });
            let document: DocumentNode;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              if (error instanceof GraphQLError) return { data: null, errors: [withoutHttpExtension(error)] };
              throw error;
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) return { data: null, errors: errors.map(withoutHttpExtension) };
            const contextValue = await enveloped.contextFactory();
            const operation = getOperationAST(document, params.operationName);
            const run = operation?.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
            return run({
              schema: enveloped.schema,
              document,
              contextValue,
              variableValues: params.variables,
              operationName: params.operationName,
            });
          },
          // The HTTP status an error carries for Yoga is no business of a client reading a stream.
          onNext: (_context, _request, result) => withoutHttpExtensions(result),
        },
        yoga.fetchAPI,
      );
    },
    onRequest({ request, url, serverContext, endResponse }) {
      if (url.pathname !== endpoint) return;
      serverContexts.set(request, serverContext);
      return handler(request).then(withErrorCodes).then(endResponse);
    },
  };
}

/** `result` with its errors' `extensions.http` (Yoga's status and headers) taken out. */
export function withoutHttpExtensions<Result extends { errors?: readonly GraphQLError[] }>(result: Result): Result {
  if (!result.errors) return result;
  return { ...result, errors: result.errors.map(withoutHttpExtension) };
}

function withoutHttpExtension(error: GraphQLError): GraphQLError {
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  const { nodes, source, positions, path, originalError } = error;
  return new GraphQLError(error.message, { nodes, source, positions, path, originalError, extensions });
}

/** graphql-sse's JSON refusals, each error given the code of the response's status when it has none. */
async function withErrorCodes(response: Response): Promise<Response> {
  if (response.status < 400 || !response.headers.get('content-type')?.startsWith('application/json')) return response;
  const code = Object.entries(ERROR_STATUS).find(([, status]) => status === response.status)?.[0] ?? 'BAD_REQUEST';
  const body = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
  const errors = body.errors?.map((error) => ({ ...error, extensions: { code, ...error.extensions } }));
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return Response.json({ ...body, errors }, { status: response.status, headers });
}

import { type DocumentNode, type ExecutionResult, getOperationAST, GraphQLError } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin } from 'graphql-yoga';
import { ERROR_STATUS } from '../errors.ts';

/**
 * graphql-sse on `endpoint` (its "single connection" mode, and its "distinct connections" mode),
 * as @graphql-yoga/plugin-graphql-sse serves it, except for what a client gets wrong:
 * - a document that does not parse or validate is answered as a GraphQL result, like on /graphql.
 *   Yoga's plugin lets the syntax error escape (a 500) and returns validation errors without
 *   `data`, which graphql-sse does not take for a result (its `isExecutionResult` wants the key)
 *   and answers "Unable to detect operation AST";
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
          onSubscribe(request, params) {
            const enveloped = yoga.getEnveloped({ ...serverContexts.get(request.raw), request: request.raw, params });
            let document: DocumentNode;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              if (error instanceof GraphQLError) return refused([error]);
              throw error;
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) return refused(errors);
            return (async () => {
              const args = {
                schema: enveloped.schema,
                document,
                contextValue: await enveloped.contextFactory(),
                variableValues: params.variables,
                operationName: params.operationName,
              };
              const operation = getOperationAST(document, params.operationName);
              return operation?.operation === 'subscription' ? enveloped.subscribe(args) : enveloped.execute(args);
            })();
          },
        },
        yoga.fetchAPI,
      );
    },
    onRequest({ request, serverContext, endResponse }) {
      if (!request.url.split('?')[0]?.endsWith(endpoint)) return;
      serverContexts.set(request, serverContext);
      return handler(request).then(withErrorCodes).then(endResponse);
    },
  };
}

/** A refused document as the result graphql-sse streams: `data` set, and no HTTP details in the errors. */
function refused(errors: readonly GraphQLError[]): ExecutionResult {
  return {
    data: null,
    errors: errors.map((error) => {
      const { http: _status, ...extensions } = error.extensions;
      return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions });
    }),
  };
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

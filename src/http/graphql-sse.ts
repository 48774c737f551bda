import { getOperationAST, GraphQLError } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin } from 'graphql-yoga';

/**
 * The GraphQL over SSE protocol (graphql-sse) on `endpoint`, in both of its modes; mostly what
 * @graphql-yoga/plugin-graphql-sse does. That plugin answers an operation that does not parse or validate
 * with a `{ errors }` result that graphql-sse, finding no `data` in it, takes for execution arguments: the
 * client gets 400 "Unable to detect operation AST", reads it as a network error and retries. Here such an
 * operation is accepted and its errors are its one result, as Yoga answers them on /graphql.
 */
export function useGraphQLSSE({ endpoint }: { endpoint: string }): Plugin {
  const serverContexts = new WeakMap<Request, object>();
  let handler: (request: Request) => Promise<Response>;
  return {
    onYogaInit({ yoga }) {
      handler = createHandler(
        {
          async onSubscribe(req, params) {
            const enveloped = yoga.getEnveloped({ ...serverContexts.get(req.raw), request: req.raw, params });
            let document;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              if (error instanceof GraphQLError) return { data: null, errors: [error] };
              throw error;
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) return { data: null, errors };
            const contextValue = await enveloped.contextFactory();
            const operation = getOperationAST(document, params.operationName);
            const run = operation?.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
            return run({ schema: enveloped.schema, document, contextValue, variableValues: params.variables, operationName: params.operationName });
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
      return handler(request).then(endResponse);
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

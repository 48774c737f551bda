import { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { createYoga, isAsyncIterable, maskError, type Plugin } from 'graphql-yoga';
import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { anonymousCaller, type Caller } from './auth/caller.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { databaseUnavailable, isDatabaseUnavailable } from './db/unavailable.ts';
import { AppError } from './errors.ts';
import { type AppEnv, clientAddress } from './http/env.ts';
import { createEventStreams } from './http/event-streams.ts';
import { createHealthCheck } from './http/health.ts';
import type { Logger } from './logger.ts';
import { legacyRoutes } from './rest/routes.ts';
import { type Context, schema } from './schema/index.ts';
import { createChatModel } from './inference/model.ts';
import { createWebSearch } from './inference/search.ts';
import { createChatEventBus } from './services/events.ts';
import { createServices } from './services/index.ts';

export interface AppDependencies {
  config: Pick<Config, 'server' | 'graphql' | 'inference' | 'search'>;
  database: Database;
  logger: Logger;
}

/** Builds the whole HTTP surface without listening: tests call `app.fetch` directly. */
export function createApp({ config, database, logger }: AppDependencies) {
  const search = createWebSearch(config.search);
  const events = createChatEventBus();
  const services = createServices({
    prisma: database.prisma,
    events,
    model: createChatModel(config.inference),
    search,
    inference: config.inference,
    logger,
  });
  const yoga = createYoga<{ caller: Caller }, Context>({
    schema,
    // The caller comes from the HTTP layer's authentication (yoga.fetch's server context).
    context: ({ caller }) => ({ prisma: database.prisma, services, caller }),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // The body limit is the app's (limitBody, before any route). Yoga's own reads Request.body, which
    // turns @hono/node-server's direct body read into a web stream: 30–40 % of GraphQL POST throughput.
    maxRequestBodySize: false,
    logging: logger.child({ component: 'graphql' }),
    maskedErrors: { maskError: maskGraphQLError },
    // Subscriptions: Yoga's own SSE on /graphql is graphql-sse's "distinct connections" mode; the
    // plugin adds the "single connection" mode on /graphql/stream.
    plugins: [
      subscriptionErrorsInStream,
      useGraphQLSSE({ endpoint: '/graphql/stream' }),
      ...persistedOperations(config.graphql),
    ],
  });

  const app = new OpenAPIHono<AppEnv>();
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  });
  const eventStreams = createEventStreams();
  app.use('*', eventStreams.track);
  app.use('*', limitBody(config.server.bodyLimitBytes));
  app.use('*', async (c, next) => {
    c.set('caller', anonymousCaller(clientAddress(c)));
    await next();
  });

  const checkHealth = createHealthCheck(database, logger);
  app.get('/healthz', async (c) => {
    const problem = await checkHealth();
    if (problem) throw problem;
    return c.json({ status: 'ok' });
  });

  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', (c) => yoga.fetch(c.req.raw, { caller: c.get('caller') }));
  app.on(['GET', 'POST', 'PUT', 'DELETE'], '/graphql/stream', (c) => yoga.fetch(c.req.raw, { caller: c.get('caller') }));

  app.route('/', legacyRoutes(services, { heartbeatMs: config.inference.heartbeatMs }));
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'chat-gateway legacy REST API',
      version: '1.0.0',
      description:
        'The chat API of the original seed document, kept for legacy clients. GraphQL at /graphql is the primary API. ' +
        'Errors are `{"detail", "code"}` with the HTTP status listed per route.',
    },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'chat-gateway REST API' }));

  app.notFound((c) => c.json({ detail: `No route for ${c.req.method} ${c.req.path}`, code: 'NOT_FOUND' }, 404));
  app.onError((error, c) => errorResponse(error, c, logger));

  return {
    app,
    yoga,
    services,
    fetch: app.fetch,
    /**
     * Ends everything long-lived before the server closes, so that only ordinary requests are left to
     * finish: running generations (stored as incomplete, listeners told SHUTDOWN), searches in flight,
     * chatEvents subscriptions (completed, after the generation events this publishes), then the event
     * streams still open.
     */
    shutdown: async () => {
      await services.inference.shutdown();
      search?.close();
      events.close();
      await eventStreams.end();
    },
  };
}

export type App = ReturnType<typeof createApp>;

/**
 * 413 beyond `maxSize`, from the headers when they tell the size. Only a chunked body is counted as it
 * is read (Hono's bodyLimit): reading `Request.body` makes @hono/node-server build a full web Request
 * for every request, GETs included, which cost the GraphQL POST path about a third of its throughput.
 */
function limitBody(maxSize: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds ${maxSize} bytes`);
  };
  const countChunkedBody = bodyLimit({ maxSize, onError: tooLarge });
  return (c, next) => {
    const length = c.req.header('content-length');
    if (length !== undefined && !c.req.header('transfer-encoding')) return Number(length) > maxSize ? tooLarge() : next();
    // No size announced: count a body that may be there (chunked, HTTP/2, an in-process Request).
    return ['GET', 'HEAD', 'OPTIONS'].includes(c.req.method) ? next() : countChunkedBody(c, next);
  };
}

function errorResponse(error: Error, c: HonoContext, logger: Logger): Response {
  if (error instanceof AppError) return c.json(error.restBody(), error.status as 400, error.headers);
  if (isDatabaseUnavailable(error)) {
    logger.warn({ err: error, method: c.req.method, path: c.req.path }, 'database unavailable');
    const unavailable = databaseUnavailable(error);
    return c.json(unavailable.restBody(), 503, unavailable.headers);
  }
  if (error instanceof HTTPException && error.status === 400) {
    // Hono's JSON validator: the body is not JSON at all.
    return c.json({ detail: `Malformed JSON body: ${error.message}`, code: 'BAD_REQUEST' }, 400);
  }
  logger.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
  return c.json({ detail: 'Internal server error', code: 'INTERNAL_SERVER_ERROR' }, 500);
}

/**
 * A subscription refused at its start (NOT_FOUND, SERVICE_UNAVAILABLE…) is answered inside the event
 * stream, with status 200, as one result carrying the error. Otherwise graphql-sse clients never see
 * it: Yoga would send the error's HTTP status, which the client reads as a network error (and retries),
 * and graphql-sse's single-connection handler mistakes a result without `data` for a new request.
 */
const subscriptionErrorsInStream: Plugin = {
  onSubscribe: () => ({
    onSubscribeResult({ result, setResult }) {
      if (isAsyncIterable(result)) return;
      setResult({
        data: null,
        errors: result.errors?.map((error) => {
          const { http: _status, ...extensions } = error.extensions ?? {};
          return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, originalError: error.originalError, extensions });
        }),
      });
    },
  }),
};

/** Operations sent by hash (`extensions.persistedQuery.sha256Hash`), when a manifest is configured. */
function persistedOperations({ persistedOperations: manifest, persistedOperationsOnly }: Config['graphql']): Plugin[] {
  if (!manifest) return [];
  return [
    usePersistedOperations({
      getPersistedOperation: (hash) => manifest.get(hash) ?? null,
      allowArbitraryOperations: !persistedOperationsOnly,
      customErrors: {
        persistedQueryOnly: {
          message: 'This gateway runs persisted operations only: send extensions.persistedQuery.sha256Hash, not a query',
          extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } },
        },
      },
    }),
  ];
}

/**
 * Yoga's masking, plus a code for Pothos' argument errors (e.g. a cursor that is not one of ours) and
 * for a database that does not answer (503 DATABASE_UNAVAILABLE with Retry-After, as on REST).
 */
function maskGraphQLError(error: unknown, message: string, isDev?: boolean): Error {
  // Before Yoga's masking, which keeps nothing of the error it hides.
  const cause = error instanceof GraphQLError ? error.originalError : error;
  if (isDatabaseUnavailable(cause)) {
    const unavailable = databaseUnavailable(cause);
    return new GraphQLError(unavailable.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      originalError: unavailable,
      extensions: unavailable.extensions,
    });
  }
  const masked = maskError(error, message, isDev);
  const original = masked instanceof GraphQLError ? masked.originalError : undefined;
  if (masked instanceof GraphQLError && original instanceof PothosValidationError) {
    return new GraphQLError(masked.message, {
      nodes: masked.nodes,
      path: masked.path,
      originalError: original,
      extensions: { code: 'VALIDATION_FAILED', http: { status: 422 } },
    });
  }
  return masked;
}

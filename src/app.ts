import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { OpenAPIHono } from '@hono/zod-openapi';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { createYoga, isAsyncIterable, maskError, type Plugin } from 'graphql-yoga';
import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { createAuthenticator } from './auth/authenticator.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { databaseUnavailable, isDatabaseUnavailable } from './db/unavailable.ts';
import { createServices } from './domain.ts';
import { AppError } from './errors.ts';
import { schemaDisclosure } from './graphql/disclosure.ts';
import { directEventStreams } from './graphql/event-stream.ts';
import { limitPlugins } from './graphql/limits.ts';
import { servedResponse } from './graphql/responses.ts';
import { subscriptionsNeedAStream } from './graphql/subscription-transport.ts';
import { AllowedMethods } from './http/allowed-methods.ts';
import { authenticate } from './http/authenticate.ts';
import { corsPolicy, securityHeaders } from './http/browser.ts';
import { browserPages } from './http/browser-pages.ts';
import type { AppEnv } from './http/env.ts';
import { createEventStreams } from './http/event-streams.ts';
import { useGraphQLSSE, withoutHttpExtensions } from './http/graphql-sse.ts';
import { createHealthCheck } from './http/health.ts';
import { requireJsonBody } from './http/json-body.ts';
import { metricsEndpoint, observeRequests } from './http/observe.ts';
import { limitRequests } from './limits/http.ts';
import { Limits } from './limits/limits.ts';
import type { Logger } from './logger.ts';
import { graphqlObservability } from './observability/graphql.ts';
import { Metrics } from './observability/metrics.ts';
import { RedisConnection } from './redis/connection.ts';
import { CrossInstanceEventTarget } from './redis/event-target.ts';
import { redisLimitStore } from './redis/limit-store.ts';
import { RedisReplyCoordinator } from './redis/reply-coordinator.ts';
import { SharedSearchCache } from './redis/search-cache.ts';
import { openApiDocument } from './rest/openapi.ts';
import { legacyRoutes } from './rest/routes.ts';
import { DEFAULT_CONNECTION_SIZE } from './schema/builder.ts';
import { connectionArgumentsChecked } from './schema/connection-arguments.ts';
import { type Context, schema } from './schema/index.ts';
import type { Caller } from './services/caller.ts';
import { createChatEventBus } from './services/events.ts';
import { createChatModel } from './upstream/model.ts';
import { createWebSearch } from './upstream/search.ts';

export interface AppDependencies {
  config: Pick<Config, 'server' | 'auth' | 'graphql' | 'inference' | 'search' | 'limits' | 'observability' | 'redis'>;
  database: Database;
  logger: Logger;
}

/** Builds the whole HTTP surface without listening: tests call `app.fetch` directly. */
export function createApp({ config, database, logger }: AppDependencies) {
  const metrics = new Metrics({ database });
  const shared = config.redis ? crossInstance(config, logger) : null;
  const search = createWebSearch(config.search, metrics, shared?.searchCache ?? null);
  const limits = new Limits(
    config.limits,
    logger.child({ component: 'limits' }),
    (limit) => metrics.rateLimited(limit),
    shared?.limitStore,
  );
  const events = createChatEventBus(shared?.events);
  const services = createServices({
    prisma: database.prisma,
    embeddedDatabase: database.target.kind === 'pglite',
    events,
    coordinator: shared?.coordinator ?? null,
    model: createChatModel(config.inference),
    search,
    inference: config.inference,
    auth: config.auth,
    limits,
    logger,
    metrics,
  });
  const authenticator = createAuthenticator(config.auth, services.apiKeys, logger.child({ component: 'auth' }));
  const yoga = createYoga<{ caller: Caller }, Context>({
    schema,
    // The caller comes from the HTTP layer's authentication (yoga.fetch's server context).
    context: ({ caller }) => ({ prisma: database.prisma, services, caller }),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // GraphiQL is served from installed packages by browserPages, ahead of authentication.
    graphiql: false,
    // CORS is the app's (corsPolicy, one policy for every route); no file uploads.
    cors: false,
    multipart: false,
    // The body limit is the app's (limitBody, before any route). Yoga's own reads Request.body, which
    // turns @hono/node-server's direct body read into a web stream: 30–40 % of GraphQL POST throughput.
    maxRequestBodySize: false,
    logging: logger.child({ component: 'graphql' }),
    // isDev would add the original error's message and stack to the response when NODE_ENV=development.
    maskedErrors: { maskError: maskGraphQLError, isDev: false },
    // Subscriptions: Yoga's own SSE on /graphql is graphql-sse's "distinct connections" mode;
    // /graphql/stream adds the "single connection" mode.
    plugins: [
      ...graphqlObservability(metrics.registry),
      ...limitPlugins(config.graphql.limits, DEFAULT_CONNECTION_SIZE),
      ...schemaDisclosure(config.graphql),
      malformedJsonParametersRefused,
      subscriptionsNeedAStream('/graphql/stream'),
      subscriptionErrorsInStream,
      // After subscriptionErrorsInStream, whose hook must see the refusals of subscriptions too.
      connectionArgumentsChecked,
      useGraphQLSSE('/graphql/stream'),
      directEventStreams(config.inference.heartbeatMs),
      ...persistedOperations(config.graphql),
    ],
  });

  const app = new OpenAPIHono<AppEnv>();
  app.use('*', observeRequests(metrics, { tracing: config.observability.tracing !== null }));
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    logger.info({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
  });
  const eventStreams = createEventStreams();
  app.use('*', eventStreams.track);
  app.use('*', corsPolicy(config.server.corsOrigins));
  app.use('*', securityHeaders());
  app.use('*', limitBody(config.server.bodyLimitBytes));
  // Pages and the API description are public: what they show is no secret, and a browser loading a
  // page or a script cannot send a bearer credential.
  app.route('/', browserPages({ graphiql: config.graphql.graphiql }));
  let apiDescription: ReturnType<typeof openApiDocument> | undefined;
  app.get('/openapi.json', (c) => {
    apiDescription ??= openApiDocument(app, config.auth);
    return c.json(apiDescription);
  });
  app.use('*', authenticate(authenticator, { trustedProxyHops: config.server.trustedProxyHops }));
  const allowed = new AllowedMethods(app.routes);
  app.use('*', async (c, next) => {
    const methods = allowed.ofLiteralPath(c.req.path);
    return methods && !methods.includes(c.req.method) ? methodNotAllowed(c, methods, logger) : next();
  });
  app.use('*', limitRequests(limits));

  const checkHealth = createHealthCheck(database, logger);
  app.get('/healthz', async (c) => {
    const problem = await checkHealth();
    if (problem) throw problem;
    // Without Redis an instance still serves everything on its own: degraded, not unready.
    if (shared) return c.json({ status: shared.redis.available ? 'ok' : 'degraded', redis: shared.redis.available ? 'ok' : 'unavailable' });
    return c.json({ status: 'ok' });
  });
  app.get('/metrics', metricsEndpoint(metrics, config.observability.metricsToken));

  const serveGraphQL = async (c: HonoContext<AppEnv>) => servedResponse(await yoga.fetch(c.req.raw, { caller: c.get('caller') }));
  // Only JSON POSTs (CSRF: see requireJsonBody), on /graphql and /graphql/stream. GET stays open to
  // EventSource subscriptions, which cannot send a header proving they are not cross-site; Yoga
  // refuses mutations over GET.
  app.use('/graphql/*', requireJsonBody(['POST']));
  app.on(['GET', 'POST'], '/graphql', serveGraphQL);
  app.on(['GET', 'POST', 'PUT', 'DELETE'], '/graphql/stream', serveGraphQL);

  app.route('/', legacyRoutes(services, { heartbeatMs: config.inference.heartbeatMs, retryMs: config.inference.sseRetryMs }));

  app.notFound((c) => {
    const methods = allowed.of(c.req.path);
    // A known method that found nothing (a handler passed it on) is a plain 404.
    if (methods.length === 0 || methods.includes(c.req.method)) {
      return c.json({ detail: `No route for ${c.req.method} ${c.req.path}`, code: 'NOT_FOUND' }, 404);
    }
    return methodNotAllowed(c, methods, logger);
  });
  app.onError((error, c) => errorResponse(error, c, logger));

  return {
    app,
    yoga,
    services,
    metrics,
    fetch: app.fetch,
    /**
     * Ends everything long-lived before the server closes, so that only ordinary requests are left to
     * finish: running generations (stored as incomplete, listeners told SHUTDOWN), searches in flight,
     * chatEvents subscriptions (completed, after the generation events this publishes), then the event
     * streams still open.
     */
    shutdown: async (deadlineMs = config.server.shutdownTimeoutMs) => {
      await services.replies.shutdown(deadlineMs);
      search?.close();
      events.close();
      await eventStreams.end();
      shared?.limitStore.close();
      await shared?.coordinator.close();
      await shared?.redis.close();
    },
  };
}

/** What several instances share through Redis: replies, chat events and the search cache. */
function crossInstance(config: AppDependencies['config'], logger: Logger) {
  const redis = new RedisConnection(config.redis!, logger.child({ component: 'redis' }));
  const instanceId = crypto.randomUUID();
  const { inference } = config;
  return {
    redis,
    coordinator: new RedisReplyCoordinator(
      redis,
      {
        instanceId,
        leaseMs: inference.leaseMs,
        watchIntervalMs: inference.saveIntervalMs,
        batchMs: config.redis!.streamBatchMs,
        retentionMs: config.redis!.streamRetentionMs,
      },
      logger.child({ component: 'replies' }),
    ),
    events: new CrossInstanceEventTarget(redis, instanceId, logger.child({ component: 'events' })),
    limitStore: redisLimitStore(redis),
    searchCache:
      config.search && config.search.cacheTtlMs > 0
        ? new SharedSearchCache(
            redis,
            { ttlMs: config.search.cacheTtlMs, timeoutMs: config.search.timeoutMs, instanceId },
            logger.child({ component: 'search' }),
          )
        : null,
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

function methodNotAllowed(c: HonoContext, methods: string[], logger: Logger): Response {
  const allow = methods.join(', ');
  const refusal = new AppError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow}`, {
    headers: { allow },
  });
  return errorResponse(refusal, c, logger);
}

/** An error as its face shows it: GraphQL's `{"errors": […]}` on the GraphQL endpoints, REST's `{"detail", "code"}` elsewhere. */
function errorResponse(error: Error, c: HonoContext, logger: Logger): Response {
  const appError = asAppError(error, c, logger);
  const graphqlFace = c.req.path === '/graphql' || c.req.path.startsWith('/graphql/');
  return c.json(graphqlFace ? appError.graphqlBody() : appError.restBody(), appError.status as 400, appError.headers);
}

function asAppError(error: Error, c: HonoContext, logger: Logger): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) {
    logger.warn({ err: error, method: c.req.method, path: c.req.path }, 'database unavailable');
    return databaseUnavailable(error);
  }
  if (error instanceof HTTPException && error.status === 400) {
    // Hono's JSON validator: the body is not JSON at all.
    return new AppError('BAD_REQUEST', `Malformed JSON body: ${error.message}`);
  }
  logger.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
  return new AppError('INTERNAL_SERVER_ERROR', 'Internal server error');
}

/**
 * GraphQL over GET (and form-encoded POST) carries `variables` and `extensions` as JSON text in a
 * parameter; Yoga's parser lets JSON.parse's SyntaxError through, which would answer 500.
 */
const malformedJsonParametersRefused: Plugin = {
  onRequestParse({ requestParser, setRequestParser }) {
    if (!requestParser) return;
    setRequestParser(async (request) => {
      try {
        return await requestParser(request);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        throw new AppError('BAD_REQUEST', `The variables and extensions parameters must be JSON: ${error.message}`);
      }
    });
  },
};

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
      setResult({ ...withoutHttpExtensions(result), data: null });
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
          extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400, spec: true } },
        },
      },
    }),
  ];
}

/**
 * Yoga's masking, a database that does not answer as 503 DATABASE_UNAVAILABLE (with Retry-After, as on
 * REST), and a code for the client errors that come without one: Pothos' argument errors
 * (e.g. a page size of a nested connection), and graphql-js's refusals of the request itself
 * (variables that do not fit their types), which graphql-tools' subscribe already calls
 * BAD_USER_INPUT. Those are told apart from a field's errors by having no path, and from masked
 * errors by having nothing but GraphQL errors behind them.
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
  if (!(masked instanceof GraphQLError)) return masked;
  const original = masked.originalError;
  if (original instanceof PothosValidationError) return withCode(masked, 'VALIDATION_FAILED', 422);
  const requestError = masked.path === undefined && (!original || original instanceof GraphQLError);
  if (requestError && masked.extensions.code === undefined) return withCode(masked, 'BAD_USER_INPUT', 400);
  return masked;
}

function withCode(error: GraphQLError, code: string, status: number): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code, http: { status, spec: true } },
  });
}

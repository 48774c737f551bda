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
import { createAuthenticator } from './auth/authenticator.ts';
import type { Caller } from './services/caller.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { pendingMigrations, readMigrations } from './db/migrate.ts';
import { AppError } from './errors.ts';
import { authenticate } from './http/authenticate.ts';
import type { AppEnv } from './http/env.ts';
import type { Logger } from './logger.ts';
import { legacyRoutes } from './rest/routes.ts';
import { type Context, schema } from './schema/index.ts';
import { createChatModel } from './upstream/model.ts';
import { createWebSearch } from './upstream/search.ts';
import { createChatEventBus } from './services/events.ts';
import { createServices } from './domain.ts';
import { RedisConnection } from './redis/connection.ts';
import { CrossInstanceEventTarget } from './redis/event-target.ts';
import { RedisReplyCoordinator } from './redis/reply-coordinator.ts';
import { SharedSearchCache } from './redis/search-cache.ts';

export interface AppDependencies {
  config: Pick<Config, 'server' | 'auth' | 'graphql' | 'inference' | 'search' | 'redis'>;
  database: Database;
  logger: Logger;
}

/** Builds the whole HTTP surface without listening: tests call `app.fetch` directly. */
export function createApp({ config, database, logger }: AppDependencies) {
  const shared = config.redis ? crossInstance(config, logger) : null;
  const search = createWebSearch(config.search, shared?.searchCache ?? null);
  const services = createServices({
    prisma: database.prisma,
    embeddedDatabase: database.target.kind === 'pglite',
    events: createChatEventBus(shared?.events),
    coordinator: shared?.coordinator ?? null,
    model: createChatModel(config.inference),
    search,
    inference: config.inference,
    auth: config.auth,
    logger,
  });
  const authenticator = createAuthenticator(config.auth, services.apiKeys, logger.child({ component: 'auth' }));
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
  app.use('*', limitBody(config.server.bodyLimitBytes));
  app.use('*', authenticate(authenticator, { trustedProxyHops: config.server.trustedProxyHops }));

  // Ready means: the database answers and every migration shipped with this build is applied.
  const shippedMigrations = readMigrations();
  app.get('/healthz', async (c) => {
    const pending = await pendingMigrations(database, await shippedMigrations).catch((error: unknown) => {
      logger.warn({ err: error }, 'health check: database unavailable');
      throw new AppError('SERVICE_UNAVAILABLE', 'Database unavailable');
    });
    if (pending.length > 0) {
      throw new AppError('SERVICE_UNAVAILABLE', `Migrations not applied yet: ${pending.join(', ')}`);
    }
    // Without Redis an instance still serves everything on its own: degraded, not unready.
    if (shared) return c.json({ status: shared.redis.available ? 'ok' : 'degraded', redis: shared.redis.available ? 'ok' : 'unavailable' });
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
     * Stops running generations (stored as incomplete, listeners told, within `deadlineMs`) before the
     * database closes, then the searches still in flight, so that nothing keeps the process alive.
     */
    shutdown: async (deadlineMs = config.server.shutdownTimeoutMs) => {
      await services.replies.shutdown(deadlineMs);
      search?.close();
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

function errorResponse(error: Error, c: HonoContext, logger: Logger): Response {
  if (error instanceof AppError) {
    // Refused before Yoga saw the request (authentication, limits): GraphQL clients still read `errors`.
    const body = c.req.path.startsWith('/graphql') ? { errors: [{ message: error.message, extensions: { code: error.code } }] } : error.restBody();
    return c.json(body, error.status as 400, error.headers);
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

/** Yoga's masking, plus a code for Pothos' argument errors (e.g. a cursor that is not one of ours). */
function maskGraphQLError(error: unknown, message: string, isDev?: boolean): Error {
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

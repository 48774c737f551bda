import { OpenAPIHono } from '@hono/zod-openapi';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
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
import { AllowedMethods } from './http/allowed-methods.ts';
import { authenticate } from './http/authenticate.ts';
import { browserPages } from './http/browser-pages.ts';
import { useGraphQLSSE, withoutHttpExtensions } from './http/graphql-sse.ts';
import type { AppEnv } from './http/env.ts';
import type { Logger } from './logger.ts';
import { openApiDocument } from './rest/openapi.ts';
import { legacyRoutes } from './rest/routes.ts';
import { type Context, schema } from './schema/index.ts';
import { createChatModel } from './upstream/model.ts';
import { createWebSearch } from './upstream/search.ts';
import { createChatEventBus } from './services/events.ts';
import { createServices } from './domain.ts';

export interface AppDependencies {
  config: Pick<Config, 'server' | 'auth' | 'graphql' | 'inference' | 'search'>;
  database: Database;
  logger: Logger;
}

/** Builds the whole HTTP surface without listening: tests call `app.fetch` directly. */
export function createApp({ config, database, logger }: AppDependencies) {
  const search = createWebSearch(config.search);
  const services = createServices({
    prisma: database.prisma,
    embeddedDatabase: database.target.kind === 'pglite',
    events: createChatEventBus(),
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
    // GraphiQL is served from installed packages by browserPages, ahead of authentication.
    graphiql: false,
    // The body limit is the app's (limitBody, before any route). Yoga's own reads Request.body, which
    // turns @hono/node-server's direct body read into a web stream: 30–40 % of GraphQL POST throughput.
    maxRequestBodySize: false,
    logging: logger.child({ component: 'graphql' }),
    maskedErrors: { maskError: maskGraphQLError },
    // Subscriptions: Yoga's own SSE on /graphql is graphql-sse's "distinct connections" mode;
    // /graphql/stream adds the "single connection" mode.
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
  // Pages and the API description are public: what they show is no secret, and a browser loading a
  // page or a script cannot send a bearer credential.
  app.route('/', browserPages());
  let apiDescription: ReturnType<typeof openApiDocument> | undefined;
  app.get('/openapi.json', (c) => c.json((apiDescription ??= openApiDocument(app, config.auth))));
  app.use('*', authenticate(authenticator, { trustedProxyHops: config.server.trustedProxyHops }));
  const allowed = new AllowedMethods(app.routes);
  app.use('*', async (c, next) => {
    const methods = allowed.ofLiteralPath(c.req.path);
    return methods && !methods.includes(c.req.method) ? methodNotAllowed(c, methods, logger) : next();
  });

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
    return c.json({ status: 'ok' });
  });

  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', (c) => yoga.fetch(c.req.raw, { caller: c.get('caller') }));
  app.on(['GET', 'POST', 'PUT', 'DELETE'], '/graphql/stream', (c) => yoga.fetch(c.req.raw, { caller: c.get('caller') }));

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
    fetch: app.fetch,
    /**
     * Stops running generations (stored as incomplete, listeners told, within `deadlineMs`) before the
     * database closes, then the searches still in flight, so that nothing keeps the process alive.
     */
    shutdown: async (deadlineMs = config.server.shutdownTimeoutMs) => {
      await services.replies.shutdown(deadlineMs);
      search?.close();
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

function methodNotAllowed(c: HonoContext, methods: string[], logger: Logger): Response {
  const allow = methods.join(', ');
  const refusal = new AppError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow}`, { headers: { allow } });
  return errorResponse(refusal, c, logger);
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

/** Yoga's masking, plus a code for Pothos' argument errors (e.g. a cursor that is not one of ours). */
function maskGraphQLError(error: unknown, message: string, isDev?: boolean): Error {
  const masked = maskError(error, message, isDev);
  const original = masked instanceof GraphQLError ? masked.originalError : undefined;
  if (masked instanceof GraphQLError && original instanceof PothosValidationError) {
    return new GraphQLError(masked.message, {
      nodes: masked.nodes,
      path: masked.path,
      originalError: original,
      extensions: { code: 'VALIDATION_FAILED', http: { status: 422, spec: true } },
    });
  }
  return masked;
}

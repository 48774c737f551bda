import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { startServer } from './http/server.ts';
import { createLogger } from './logger.ts';
import { startTracing } from './observability/tracing.ts';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config);
  // Before the database opens, so that its spans from the first query on are traced.
  const { tracing: tracingConfig } = config.observability;
  const tracing = tracingConfig ? await startTracing(tracingConfig) : null;
  if (tracingConfig) logger.info({ collector: tracingConfig.endpoint.origin }, 'tracing to an OTLP collector');
  const database = await openDatabase(config.database.url, { poolSize: config.database.poolSize });
  if (config.database.migrateOnStart) {
    const applied = await migrate(database);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database schema up to date');
  }
  const { fetch, shutdown: stopGenerations } = createApp({ config, database, logger });
  const server = startServer(fetch, config.server, (info) => {
    logger.info({ url: `http://${config.server.host}:${info.port}`, store: database.target.kind }, 'listening');
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Stop accepting, let open requests finish, then cut whatever is still open (long streams).
    const deadline = setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs);
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    await stopGenerations();
    await closed;
    clearTimeout(deadline);
    await database.close();
    await tracing?.shutdown();
    logger.info('stopped');
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shutdown(signal).catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      });
    });
  }
}

main().catch((error: unknown) => {
  // A readable line, not a stack trace, for the mistakes an operator makes (bad env, bad migration).
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});

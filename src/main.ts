import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { DataFolderInUseError } from './db/folder-lock.ts';
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
  const database = await openDatabase(config.database.url, {
    poolSize: config.database.poolSize,
    timeouts: config.database.timeouts,
    logger: logger.child({ component: 'database' }),
  });
  if (config.database.migrateOnStart) {
    const applied = await migrate(database);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database schema up to date');
  }
  const { fetch, shutdown: stopApp } = createApp({ config, database, logger });
  const server = startServer(fetch, config.server, (info) => {
    logger.info({ url: `http://${config.server.host}:${info.port}`, store: database.target.kind }, 'listening');
  });

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Stop accepting, end the streams, let open requests finish, then cut whatever is still open.
    const closed = new Promise((resolve) => server.close(resolve));
    const deadline = setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs);
    // close() shuts the connections idle at that moment only: keep-alive connections whose request
    // finishes later would hold the exit until their keep-alive timeout.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    await stopApp();
    await closed;
    clearTimeout(deadline);
    clearInterval(idleSweep);
    await database.close();
    await tracing?.shutdown();
    logger.info('stopped');
  };
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // Repeats are ignored: Ctrl-C under `npm start` arrives twice (from the terminal, and forwarded by
      // npm), and a second signal must not cut the graceful shutdown short. SIGKILL forces an exit.
      if (stopping) {
        logger.info({ signal }, 'already shutting down');
        return;
      }
      stopping = true;
      // Once everything is stored and closed, the process ends even if a library still holds a handle:
      // pg's goodbye to a frozen database server waits for an answer that never comes.
      shutdown(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  // A readable line, not a stack trace, for the mistakes an operator makes (bad env, bad migration).
  console.error(error instanceof ConfigError || error instanceof DataFolderInUseError ? error.message : error);
  process.exit(1);
});

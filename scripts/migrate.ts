// `npm run migrate`: applies pending migrations to DATABASE_URL, as the service does at start-up.
import { ConfigError, loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { DataFolderInUseError } from '../src/db/folder-lock.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';

try {
  const config = loadConfig();
  const database = await openDatabase(config.database.url, { timeouts: config.database.timeouts, logger: createLogger(config) });
  try {
    const applied = await migrate(database);
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database schema up to date');
  } finally {
    await database.close();
  }
} catch (error) {
  // A readable line for what the operator must fix (bad env, a PGlite folder a running server holds).
  console.error(error instanceof ConfigError || error instanceof DataFolderInUseError ? error.message : error);
  process.exitCode = 1;
}

// `npm run migrate`: applies pending migrations to DATABASE_URL, as the service does at start-up.
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';

const config = loadConfig();
const database = await openDatabase(config.database.url, { timeouts: config.database.timeouts });
try {
  const applied = await migrate(database);
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database schema up to date');
} finally {
  await database.close();
}

// `npm run keys -- <command>`: API keys managed from a shell against DATABASE_URL, as admins do through
// GraphQL (createApiKey, revokeApiKey). The key is printed once; only its hash is stored.
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { AppError } from '../src/errors.ts';
import { ApiKeyStore } from '../src/services/api-keys.ts';

const USAGE = `Usage:
  npm run keys -- create --owner <name> [--admin]   a new key, printed once
  npm run keys -- list [--owner <name>]             keys (never their secrets)
  npm run keys -- revoke <key id>`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { owner: { type: 'string' }, admin: { type: 'boolean', default: false } },
});
const [command, ...rest] = positionals;

const config = loadConfig();
const database = await openDatabase(config.database.url);
try {
  await migrate(database);
  const keys = new ApiKeyStore(database.prisma, 0);
  if (command === 'create' && values.owner !== undefined && rest.length === 0) {
    const { key, record } = await keys.create({ owner: values.owner, admin: values.admin });
    console.log(
      `${key}\n\nid ${record.id}, owner ${JSON.stringify(record.owner)}${record.admin ? ', admin' : ''}: keep the key now, it is not shown again.`,
    );
  } else if (command === 'list' && rest.length === 0) {
    for (const key of await keys.list(values.owner)) {
      const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
      console.log(`${key.id}  ${key.owner}${key.admin ? ' (admin)' : ''}  created ${key.createdAt.toISOString()}  ${state}`);
    }
  } else if (command === 'revoke' && rest.length === 1) {
    const revoked = await keys.revoke(rest[0]!);
    console.log(`revoked ${revoked.id} (owner ${JSON.stringify(revoked.owner)})`);
  } else {
    console.error(USAGE);
    process.exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof AppError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
} finally {
  await database.close();
}

// Offline stand-in for `prisma migrate dev --create-only`: the native schema engine cannot be
// downloaded here, so we drive Prisma's own engine compiled to WASM, with in-process PGlite
// databases instead of a server. Same engine + same inputs = the SQL `migrate dev` would write.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { CreateMigrationOutput, MigrationList } from '@prisma/schema-engine-wasm/schema_engine_bg';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface MigrationPaths {
  schemaPath?: string; // default prisma/schema.prisma
  migrationsDir?: string; // default prisma/migrations
}

// Node 20 cannot `import` a .wasm file (the package's main entry does), so instantiate the module
// ourselves through its exported JS glue. The glue holds one global instance: load it once.
let engineReady: Promise<typeof engineGlue.SchemaEngine> | undefined;
function loadEngine(): Promise<typeof engineGlue.SchemaEngine> {
  engineReady ??= (async () => {
    const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(join(dirname(gluePath), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': engineGlue });
    engineGlue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return engineGlue.SchemaEngine;
  })();
  return engineReady;
}

// Read the migrations folder exactly like the Prisma 7.10 CLI does (directories sorted by name,
// each with its migration.sql or the read error), so the engine sees the same history.
async function listMigrations(baseDir: string): Promise<MigrationList> {
  const lockfilePath = 'migration_lock.toml';
  const lockContent = await readFile(join(baseDir, lockfilePath), 'utf8').catch(() => null);
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const dirs = await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .map(async (e) => ({
        path: e.name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(join(baseDir, e.name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (err: Error) => ({ tag: 'error' as const, value: err.message }),
          ),
        },
      })),
  );
  dirs.sort((a, b) => a.path.localeCompare(b.path));
  return {
    baseDir,
    lockfile: { path: lockfilePath, content: lockContent },
    shadowDbInitScript: '', // prisma.config.ts sets no migrations.initShadowDb
    migrationDirectories: dirs,
  };
}

// pglite-prisma-adapter 0.7.2's executeScript (how the engine runs a migration.sql) does not
// await PGlite.exec(): the engine carries on before the script ends and a failing script becomes
// an unhandled rejection instead of an engine error. Await it, converting errors the adapter's way.
async function connect(db: PGlite): Promise<SqlDriverAdapter> {
  const adapter = await new PrismaPGlite(db).connect();
  const onError = (adapter as unknown as { onError(e: unknown): never }).onError.bind(adapter);
  adapter.executeScript = (script) => db.exec(script).then(() => undefined, onError);
  return adapter;
}

/** Asks the engine for the next migration (what `migrate dev` computes); nothing is written. */
async function planMigration(name: string, paths: MigrationPaths = {}) {
  const schemaPath = resolve(paths.schemaPath ?? join(root, 'prisma/schema.prisma'));
  const baseDir = resolve(paths.migrationsDir ?? join(root, 'prisma/migrations'));
  const schema = { files: [{ path: schemaPath, content: await readFile(schemaPath, 'utf8') }] };
  const migrationsList = await listMigrations(baseDir);

  // Throw-away in-memory databases: a main one, on which the history gets applied, and a fresh
  // shadow for every connectToShadowDb() call, since the engine replays migrations on each one
  // without resetting it (the native engine creates a temporary database per call). We create
  // the shadows ourselves, not via PrismaPGlite's connectToShadowDb(), so that we can close them.
  // Starting from a dump of a fresh instance (what PGlite.clone() does) skips initdb: ~2 s, not ~5.
  const main = new PGlite();
  await main.waitReady; // dumpDataDir() on a starting instance never settles
  const fresh = await main.dumpDataDir('none');
  const shadows: PGlite[] = [];
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: 'postgres',
    adapterName: 'pglite-prisma-adapter',
    connect: () => connect(main),
    connectToShadowDb: () => {
      const shadow = new PGlite({ loadDataDir: fresh });
      shadows.push(shadow);
      return connect(shadow);
    },
  };
  let engine: engineGlue.SchemaEngine | undefined;
  try {
    const SchemaEngine = await loadEngine();
    engine = await SchemaEngine.new(
      { datamodels: schema.files.map((f): [string, string] => [f.path, f.content]) },
      () => {}, // engine log lines: not needed
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    const filters = { externalTables: [], externalEnums: [] }; // prisma.config.ts declares none
    // The WASM createMigration cannot reach the shadow database: it reads the schema that
    // devDiagnostic cached after replaying, on the shadow, the migrations *applied on the main
    // database*. So apply them all to the (empty, throw-away) main first, as `migrate dev` does,
    // else the cache is keyed by the wrong list and createMigration fails with "PostgreSQL shadow
    // DB must be provided through an external factory". The suggested action is moot here.
    await engine.applyMigrations({ migrationsList, filters });
    await engine.devDiagnostic({ migrationsList, filters });
    // Diff (history -> schema) rendered with data-loss warnings; null when nothing changed.
    const out: CreateMigrationOutput = await engine.createMigration({
      migrationName: name,
      draft: false,
      migrationsList,
      schema,
      filters,
    });
    return { ...out, migrationsList };
  } finally {
    // free() does not close the adapter's connections, so close every database ourselves.
    engine?.free();
    await Promise.all([main, ...shadows].map((db) => db.close()));
  }
}

/** SQL that brings a database with every existing migration up to the schema; '' when in sync. */
export async function pendingSchemaSql(paths: MigrationPaths = {}): Promise<string> {
  return (await planMigration('pending', paths)).migrationScript ?? '';
}

// What `migrate dev --name` does to the name: @sindresorhus/slugify with "_" (bundled in the CLI,
// so re-stated here; NFKD only approximates its transliteration), cut at 200 characters.
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/&/g, ' and ')
    .replace(/([A-Z]{2,})(\d+)/g, '$1 $2') // decamelize: addTopic -> add topic
    .replace(/([a-z\d]+)([A-Z]{2,})/g, '$1 $2')
    .replace(/([a-z\d])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-rt-z\d]+)/g, '$1 $2')
    .toLowerCase()
    .replace(/([a-z\d]+)'([ts])(\s|$)/g, '$1$2$3')
    .replace(/[^a-z\d]+/g, '_')
    .replace(/^_|_$/g, '')
    .substring(0, 200);
}

/** Writes <timestamp>_<name>/migration.sql and migration_lock.toml as the Prisma CLI does. */
export async function createMigration(name: string, paths: MigrationPaths = {}): Promise<string | null> {
  const plan = await planMigration(slugify(name), paths);
  if (plan.migrationScript === null) return null;
  const { baseDir, lockfile } = plan.migrationsList;
  const dir = join(baseDir, plan.generatedMigrationName);
  if (existsSync(dir)) throw new Error(`The migration directory already exists at ${dir}`);
  await mkdir(dir, { recursive: true }); // also creates prisma/migrations for the first one
  await writeFile(join(dir, `migration.${plan.extension}`), plan.migrationScript, 'utf8');
  await writeFile(
    join(baseDir, lockfile.path),
    `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${plan.connectorType}"\n`,
    'utf8',
  );
  return dir;
}

// CLI: npm run migrate:new -- <name>
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const name = process.argv[2] ?? '';
  if (!slugify(name)) {
    console.error('Usage: npm run migrate:new -- <name>');
    process.exit(1);
  }
  const dir = await createMigration(name);
  console.log(dir ? `Created ${relative(process.cwd(), join(dir, 'migration.sql'))}` : 'No schema changes');
  // applyMigrations leaves its 10 s advisory-lock timeout timer pending in the WASM engine even
  // after free(): don't sit idle until it fires.
  process.exit(0);
}

// `prisma generate` only checks that a schema engine binary exists before generating; the native
// engine cannot be downloaded on offline machines and generation never runs it, so point the CLI
// at a stub when the operator has not provided a real one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const stub = fileURLToPath(new URL('./schema-engine-stub.sh', import.meta.url));
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
}
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);

import { defineConfig } from 'prisma/config';

// The CLI is only used for `prisma generate`: migrations are applied by src/db/migrate.ts and
// created by scripts/migrate-new.ts, neither of which needs Prisma's native schema engine.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});

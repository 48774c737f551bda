import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Every test file runs twice: on PGlite (the embedded default) and on the PostgreSQL server named by
 * TEST_POSTGRES_URL (default: this machine's, trust auth), each file in a schema of its own.
 */
const store = (name: 'pglite' | 'postgres') => ({
  extends: true as const,
  test: { name, include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/faults/**'], env: { TEST_STORE: name } },
});

/**
 * Tests of real faults across processes (gateway instances, a private Redis, on PostgreSQL): once,
 * one file at a time, since each starts several processes on a machine with two cores.
 */
const faults = {
  extends: true as const,
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { TEST_STORE: 'postgres' },
  },
};

export default defineConfig({
  // graphql 16 ships CJS (`main`) and ESM (`module`); Node loads the CJS build for our dependencies,
  // so the test bundler must load the same one or schemas fail with "another module or realm".
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [store('pglite'), store('postgres'), faults],
  },
});

import { configDefaults, defineConfig } from 'vitest/config';

const FAULTS = 'test/faults/**/*.test.ts';

/**
 * Every test file runs twice: on PGlite (the embedded default) and on the PostgreSQL server named by
 * TEST_POSTGRES_URL (default: this machine's, trust auth), each file in a schema of its own.
 */
const store = (name: 'pglite' | 'postgres') => ({
  extends: true as const,
  test: {
    name,
    env: { TEST_STORE: name },
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, FAULTS],
    globalSetup: ['test/support/global-setup.ts'],
  },
});

/**
 * Fault tests run real processes (gateways, private PostgreSQL and Redis servers) and choose their
 * stores themselves: once, one file at a time, after the other projects, so that their timeouts do not
 * compete with anything for the CPU.
 */
const faults = {
  extends: true as const,
  test: {
    name: 'faults',
    include: [FAULTS],
    fileParallelism: false,
    sequence: { groupOrder: 1 },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
};

export default defineConfig({
  // graphql 16 ships CJS (`main`) and ESM (`module`); Node loads the CJS build for our dependencies,
  // so the test bundler must load the same one or schemas fail with "another module or realm".
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [store('pglite'), store('postgres'), faults],
  },
});

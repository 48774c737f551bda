import { readFile } from 'node:fs/promises';
import { printSchema } from 'graphql';
import { expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';

it('schema.graphql is what `npm run codegen` writes from the code-first schema', async () => {
  const committed = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
  // Stale SDL means a client-facing change went unreviewed: run `npm run codegen` and commit.
  expect(committed.trim()).toBe(printSchema(schema).trim());
});

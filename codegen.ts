import type { CodegenConfig } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';
import { schema } from './src/schema/index.ts';

/**
 * `npm run codegen`: the SDL of the code-first schema (committed as schema.graphql, checked for
 * staleness by test/schema/sdl.test.ts) and typed documents for every `graphql(...)` in the tests.
 */
const config: CodegenConfig = {
  schema: printSchema(schema),
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  generates: {
    'schema.graphql': { plugins: ['schema-ast'] },
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
        importExtension: '.ts',
      },
    },
  },
};

export default config;

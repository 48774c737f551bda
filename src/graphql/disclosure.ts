import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * With introspection off the schema is not given away: `__schema` and `__type` are refused, and
 * errors say no "Did you mean…" (graphql-js names close fields, arguments, types and enum values).
 * Suggestions are handled here rather than by graphql-armor's block-field-suggestions, which misses
 * enum values and the errors of variables (raised at execution, not validation).
 */
export function schemaDisclosure({ introspection }: { introspection: boolean }): Plugin[] {
  if (introspection) return [];
  return [{ onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) }, hideSuggestions];
}

/** graphql-js's suggestions: ` Did you mean "a" or "b"?`, ` Did you mean the enum value "A"?`… (names never hold `?`). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

const hideSuggestions: Plugin = {
  onExecutionResult({ result, setResult }) {
    if (!result || isAsyncIterable(result) || Array.isArray(result) || !result.errors) return;
    setResult({ ...result, errors: result.errors.map(withoutSuggestion) });
  },
};

function withoutSuggestion(error: GraphQLError): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  if (message === error.message) return error;
  const { nodes, source, positions, path, originalError, extensions } = error;
  return new GraphQLError(message, { nodes, source, positions, path, originalError, extensions });
}

import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { ExecutionArgs, ExecutionResult, GraphQLError, ValidationContext } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { GraphQLLimits } from '../config.ts';
import { AppError } from '../errors.ts';
import { operationCost } from './cost.ts';

/**
 * Bounds on what one operation may ask for, so that no single request can exhaust the gateway:
 * tokens while parsing, depth, aliases and directives while validating (graphql-armor), cost
 * just before execution (it depends on the variables). Each refusal is 400 QUERY_TOO_COMPLEX
 * naming the limit, and nothing runs.
 */
export function limitPlugins(limits: GraphQLLimits, defaultPageSize: number): Plugin[] {
  const armor = { exposeLimits: true, propagateOnRejection: false, onReject: [refuse] };
  return [
    maxTokensPlugin({ ...armor, n: limits.tokens }),
    // Depth counts fields only: a fragment is a way to write a selection, not a level of the answer.
    maxDepthPlugin({ ...armor, n: limits.depth, flattenFragments: true }),
    maxAliasesPlugin({ ...armor, n: limits.aliases }),
    maxDirectivesPlugin({ ...armor, n: limits.directives }),
    costLimit(limits.cost, defaultPageSize),
    alwaysBadRequest,
  ];
}

/** Validation rules report the refusal with the other validation errors; the parser can only throw it. */
function refuse(context: ValidationContext | null, error: GraphQLError): void {
  const refusal = queryTooComplex(error.message.replace(/^Syntax Error: /, ''));
  if (!context) throw refusal;
  context.reportError(refusal);
}

function queryTooComplex(message: string): AppError {
  return new AppError('QUERY_TOO_COMPLEX', message);
}

function costLimit(maxCost: number, defaultPageSize: number): Plugin {
  const check = ({ args, setResultAndStopExecution }: CheckPayload) => {
    const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues, defaultPageSize);
    if (cost > maxCost) {
      setResultAndStopExecution({ errors: [queryTooComplex(`Query cost limit of ${maxCost} exceeded, found ${cost}.`)] });
    }
  };
  return { onExecute: check, onSubscribe: check };
}

/** What onExecute and onSubscribe have in common. */
interface CheckPayload {
  args: ExecutionArgs;
  setResultAndStopExecution(result: ExecutionResult): void;
}

/**
 * Yoga answers parse and validation errors with 200 to clients that accept only `application/json`
 * (GraphQL over HTTP's legacy rule). A refused operation is 400 whatever the client accepts, like
 * every other error of ours with a status: a result-level status is the one Yoga keeps.
 */
const alwaysBadRequest: Plugin = {
  onExecutionResult({ result, setResult }) {
    if (!result || isAsyncIterable(result) || Array.isArray(result)) return;
    if (!result.errors?.some((error) => error.extensions?.code === 'QUERY_TOO_COMPLEX')) return;
    setResult({ ...result, extensions: { ...result.extensions, http: { status: 400 } } });
  },
};

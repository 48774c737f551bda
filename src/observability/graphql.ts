import { createCounter, createHistogram, type FillLabelsFnParams, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { trace } from '@opentelemetry/api';
import { type DocumentNode, type GraphQLError, getOperationAST, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { currentRequest } from './request-context.ts';

/** Operation names are the client's choice: only this many distinct ones get a series of their own. */
const MAX_OPERATION_NAMES = 200;
const MAX_OPERATION_NAME_LENGTH = 100;

type OperationLabels = { operationName: string; operationType: string };

/**
 * GraphQL's side of observability: operations, errors (by phase and code) and durations per operation
 * in `registry`, the HTTP status per operation, and the operation's name on the request's log lines
 * and trace span.
 */
export function graphqlObservability(registry: Registry): Plugin[] {
  const names = new OperationNames();
  // Yoga's context carries the request's params: the operation the client asked for by name.
  const operationOf = (params: FillLabelsFnParams, context: { params?: { operationName?: string } } | undefined) =>
    names.labels(params.document ? getOperationAST(params.document, context?.params?.operationName) : null);
  const metrics = usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_request: createCounter({
        registry,
        counter: {
          name: 'chat_gateway_graphql_operations_total',
          help: 'GraphQL operations executed or subscribed, failed or not',
          labelNames: ['operationName', 'operationType'],
        },
        fillLabelsFn: operationOf,
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: 'chat_gateway_graphql_errors_total',
          help: 'Errors in GraphQL results, by phase (parse, validate, context, execute, subscribe) and extensions.code',
          labelNames: ['operationName', 'operationType', 'phase', 'code'],
        },
        fillLabelsFn: (params, context) => ({
          ...operationOf(params, context),
          phase: params.errorPhase ?? 'unknown',
          code: errorCode(params.error),
        }),
      }),
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: 'chat_gateway_graphql_operation_duration_seconds',
          help: 'Time to execute a GraphQL operation, or to set up a subscription',
          labelNames: ['operationName', 'operationType'],
        },
        fillLabelsFn: operationOf,
      }),
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: {
          name: 'chat_gateway_graphql_http_duration_seconds',
          help: 'Time from a GraphQL request to its response (headers, for a stream), by operation and HTTP status',
          labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
        },
        fillLabelsFn: (params, { request, response }) => ({
          ...names.labels(getOperationAST(params.document, params.operationName)),
          method: request.method,
          statusCode: response.status,
        }),
      }),
      graphql_envelop_deprecated_field: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_schema_change: false,
    },
  });
  return [metrics, nameTheOperation];
}

/** The operation being run, on every log line of its request and on the request's span. */
const nameTheOperation: Plugin = {
  onExecute: ({ args }) => nameOperation(args.document, args.operationName),
  onSubscribe: ({ args }) => nameOperation(args.document, args.operationName),
};

function nameOperation(document: DocumentNode, operationName: string | null | undefined): void {
  const operation = getOperationAST(document, operationName);
  if (!operation) return;
  const name = operation.name?.value.slice(0, MAX_OPERATION_NAME_LENGTH) ?? 'anonymous';
  const request = currentRequest();
  if (request) request.graphqlOperation = name;
  trace.getActiveSpan()?.setAttributes({ 'graphql.operation.name': name, 'graphql.operation.type': operation.operation });
}

function errorCode(error: GraphQLError | undefined): string {
  const code = error?.extensions?.code;
  return typeof code === 'string' ? code : 'none';
}

/** Label values for operation names: the first MAX_OPERATION_NAMES names seen, `other` for the rest. */
class OperationNames {
  private readonly seen = new Set<string>();

  labels(operation: OperationDefinitionNode | null | undefined): OperationLabels {
    return { operationName: this.label(operation?.name?.value), operationType: operation?.operation ?? 'unknown' };
  }

  private label(name: string | undefined): string {
    if (name === undefined) return 'anonymous';
    if (this.seen.has(name)) return name;
    if (name.length > MAX_OPERATION_NAME_LENGTH || this.seen.size >= MAX_OPERATION_NAMES) return 'other';
    this.seen.add(name);
    return name;
  }
}

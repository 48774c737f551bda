import { parsePrismaCursor } from '@pothos/plugin-prisma';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  type OperationDefinitionNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError } from '../errors.ts';
import { isUuid } from '../services/inputs.ts';

/** The Relay arguments of a connection field. */
interface PageArguments {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

const PAGE_ARGUMENTS = ['first', 'last', 'after', 'before'] as const;

/**
 * What every connection accepts. Every one pages by id (`cursor: 'id'`), so a cursor must decode to
 * plugin-prisma's string cursor holding a UUID: anything else would reach the database as a number,
 * a date, null or a malformed uuid and fail there (a 500).
 */
function pageArgumentsProblem({ first, last, after, before }: PageArguments): string | undefined {
  if ((first != null && first < 0) || (last != null && last < 0)) return 'first and last must not be negative';
  // plugin-prisma refuses most mixes; first with last it silently half-honours.
  if ((first != null || after != null) && (last != null || before != null)) {
    return 'a page goes forward (first, after) or backward (last, before), not both ways';
  }
  for (const [name, cursor] of [
    ['after', after],
    ['before', before],
  ] as const) {
    if (cursor != null && !isIdCursor(cursor)) {
      return `${name} is not a cursor of this connection: pass an edge's cursor, or pageInfo's startCursor or endCursor, as given`;
    }
  }
  return undefined;
}

function isIdCursor(cursor: string): boolean {
  try {
    const id = parsePrismaCursor(cursor);
    return typeof id === 'string' && isUuid(id);
  } catch {
    return false;
  }
}

function isConnection(field: GraphQLField<unknown, unknown>): boolean {
  return PAGE_ARGUMENTS.every((name) => field.args.some((arg) => arg.name === name));
}

/** A connection field of an operation that is given paging arguments. */
interface PagedField {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
}

/** Per operation of a parsed document (Yoga reuses those of a repeated query): most have none. */
const pagedFieldsCache = new WeakMap<OperationDefinitionNode, PagedField[]>();

function pagedFieldsOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): PagedField[] {
  const cached = pagedFieldsCache.get(operation);
  if (cached) return cached;
  const found: PagedField[] = [];
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition: (node) => (node === operation ? undefined : false),
      Field: (node) => {
        const field = typeInfo.getFieldDef();
        const paged = node.arguments?.some((argument) => (PAGE_ARGUMENTS as readonly string[]).includes(argument.name.value));
        if (field && paged && isConnection(field)) found.push({ field, node });
      },
    }),
  );
  pagedFieldsCache.set(operation, found);
  return found;
}

/** The first problem with the paging arguments of the operation to run, as `field: problem`. */
function operationProblem(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): string | undefined {
  const operation = getOperationAST(document, operationName);
  // No operation to run: execution itself reports it.
  if (!operation) return undefined;
  const paged = pagedFieldsOf(schema, document, operation);
  if (paged.length === 0) return undefined;
  const { coerced } = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
  // Variables that do not fit their types: execution reports those too.
  if (!coerced) return undefined;
  for (const { field, node } of paged) {
    const problem = pageArgumentsProblem(getArgumentValues(field, node, coerced) as PageArguments);
    if (problem) return `${field.name}: ${problem}`;
  }
  return undefined;
}

function refuseBadPaging({
  args,
  setResultAndStopExecution,
}: {
  args: ExecutionArgs;
  setResultAndStopExecution: (result: ExecutionResult) => void;
}) {
  const problem = operationProblem(args.schema, args.document, args.operationName, args.variableValues);
  if (problem) setResultAndStopExecution({ errors: [new AppError('VALIDATION_FAILED', problem)] });
}

/**
 * Refuses an operation (query, mutation or subscription) whose connection arguments, root (`chats`)
 * or nested (`Chat.conversations`), break the rules of `pageArgumentsProblem`: VALIDATION_FAILED,
 * nothing run. The whole operation is checked up front because a nested connection's arguments are
 * read while its parent's query is built, before the nested field could check them itself.
 */
export const connectionArgumentsChecked: Plugin = { onExecute: refuseBadPaging, onSubscribe: refuseBadPaging };

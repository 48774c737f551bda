import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  type SelectionSetNode,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
} from 'graphql';

/**
 * The most fields the answer to an operation can hold: every field counts 1, and everything below a
 * connection (a field with `first`/`last` arguments) counts once per item of its page: `first` or
 * `last` as sent (literal, variable or default value), or `defaultPageSize` when neither is.
 *
 * An upper bound, not an estimate: fragments on the several members of a union all count, and lists
 * that are not connections (a reply's few sources) count as one item. It says nothing of the size
 * of each value (a long message counts 1). Returns 0 for a request that execution will refuse anyway
 * (unknown operation, invalid variables).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  defaultPageSize: number,
): number {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return 0;
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (variables.errors) return 0;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // A fragment costs the same wherever it is spread: counting it once keeps a document that spreads
  // fragments into fragments from costing exponential time to measure.
  const fragmentCosts = new Map<string, number>();

  const pageSize = (field: GraphQLField<unknown, unknown>, node: FieldNode): number => {
    if (!field.args.some((arg) => arg.name === 'first' || arg.name === 'last')) return 1;
    const { first, last } = getArgumentValues(field, node, variables.coerced);
    const sizes = [first, last].filter((size): size is number => typeof size === 'number');
    return sizes.length > 0 ? Math.max(0, ...sizes) : defaultPageSize;
  };

  const selectionSetCost = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        total += 1;
        const field = fieldDefinition(schema, parentType, selection.name.value);
        const childType = field && getNamedType(field.type);
        if (field && selection.selectionSet && isCompositeType(childType)) {
          total += pageSize(field, selection) * selectionSetCost(selection.selectionSet, childType);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        if (isCompositeType(type)) total += selectionSetCost(selection.selectionSet, type);
      } else {
        total += fragmentCost(selection.name.value);
      }
    }
    return total;
  };

  const fragmentCost = (name: string): number => {
    const known = fragmentCosts.get(name);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    const type = fragment && schema.getType(fragment.typeCondition.name.value);
    const cost = fragment && isCompositeType(type) ? selectionSetCost(fragment.selectionSet, type) : 0;
    fragmentCosts.set(name, cost);
    return cost;
  };

  return selectionSetCost(operation.selectionSet, rootType);
}

/** A field of `parentType`, introspection's meta-fields included (they are not in `getFields()`). */
function fieldDefinition(
  schema: GraphQLSchema,
  parentType: GraphQLCompositeType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parentType === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[name] : undefined;
}

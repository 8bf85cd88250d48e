"""Static query cost: how many rows an operation may touch, computed before it runs.

The model follows GitHub's node limit: a connection may return ``first`` or ``last`` rows
(the smaller when both are given, the default page size when neither) for each of its
parents, so sizes multiply down the tree (``tenants(first: 100) { customers(first: 100) }``
may touch 100 + 100 * 100 rows). A list without paging counts its cap, a single object one
row per parent, and scalars, values computed from their parent's row (``Money``,
``PageInfo``) and introspection nothing.
Aliases are separate executions and count separately; fields merged under one response key
count once; ``@skip``/``@include`` are honoured; on an abstract type (``node``), the
costliest possible type counts.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_argument_values,
    get_directive_values,
    get_named_type,
    is_abstract_type,
    is_composite_type,
    is_leaf_type,
    type_from_ast,
)
from graphql.execution.values import VariableValues, get_variable_values

# Computed from the parent's row or from the request: no row of their own.
VALUE_TYPES = frozenset({"Money", "PageInfo", "UserError", "Viewer"})
# Lists whose length the schema bounds: one entry per usage kind, per inherited setting.
LIST_CAPS = {"UsageTotal": 3, "TariffRate": 3, "SettingSource": 4}
# The arguments the cost depends on.
COST_ARGUMENTS = frozenset({"first", "last", "ids"})


@dataclass(frozen=True)
class CostLimits:
    default_page_size: int
    max_page_size: int


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: CostLimits,
) -> int:
    """The cost of the operation that would run; 0 when it cannot run (execution says why)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return 0
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    # Only variables of scalar and enum types can reach what the cost reads (``first``,
    # ``last``, ``ids``, ``@skip``/``@include``): input objects, which can be large (a usage batch),
    # are left to execution, which coerces them anyway.
    leaves = [
        definition
        for definition in operation.variable_definitions or ()
        if (declared := type_from_ast(schema, definition.type)) is None
        or is_leaf_type(get_named_type(declared))
    ]
    coerced = get_variable_values(schema, leaves, dict(variables or {}))
    if root is None or isinstance(coerced, list):
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = _Walker(schema, fragments, coerced, limits)
    return walker.selection_cost([operation.selection_set], root, 1)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        limits: CostLimits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits

    def selection_cost(
        self, selection_sets: list[SelectionSetNode], parent: Any, multiplier: int
    ) -> int:
        """The cost of the selections on ``parent``, reached ``multiplier`` times."""
        if is_abstract_type(parent):
            return max(
                (
                    self.selection_cost(selection_sets, runtime, multiplier)
                    for runtime in self.schema.get_possible_types(parent)
                ),
                default=0,
            )
        total = 0
        for nodes in self._collect(selection_sets, parent).values():
            field = parent.fields.get(nodes[0].name.value)
            if field is not None:
                total += self._field_cost(field, nodes, multiplier)
        return total

    def _field_cost(self, field: GraphQLField, nodes: list[FieldNode], multiplier: int) -> int:
        wrapped, is_list = _unwrap(field.type)
        if not is_composite_type(wrapped):
            return 0
        children = [n.selection_set for n in nodes if n.selection_set is not None]
        if isinstance(wrapped, GraphQLObjectType) and _is_connection(wrapped):
            size = self._page_size(field, nodes[0])
            return multiplier * size + self._connection_cost(children, wrapped, multiplier, size)
        if wrapped.name in VALUE_TYPES:
            return self.selection_cost(children, wrapped, multiplier)
        if is_list:
            size = self._list_cap(field, nodes[0], wrapped.name)
            return multiplier * size + self.selection_cost(children, wrapped, multiplier * size)
        return multiplier + self.selection_cost(children, wrapped, multiplier)

    def _connection_cost(
        self,
        selection_sets: list[SelectionSetNode],
        connection: GraphQLObjectType,
        multiplier: int,
        size: int,
    ) -> int:
        """Edges and nodes are the rows already counted; ``totalCount`` is one more read."""
        total = 0
        for key_nodes in self._collect(selection_sets, connection).values():
            name = key_nodes[0].name.value
            children = [n.selection_set for n in key_nodes if n.selection_set is not None]
            if name == "totalCount":
                total += multiplier
            elif name == "edges":
                edge, _ = _unwrap(connection.fields["edges"].type)
                for edge_nodes in self._collect(children, edge).values():
                    if edge_nodes[0].name.value == "node":
                        node_type, _ = _unwrap(edge.fields["node"].type)
                        total += self.selection_cost(
                            [n.selection_set for n in edge_nodes if n.selection_set is not None],
                            node_type,
                            multiplier * size,
                        )
        return total

    def _page_size(self, field: GraphQLField, node: FieldNode) -> int:
        arguments = self._arguments(field, node)
        given = [int(arguments[a]) for a in ("first", "last") if arguments.get(a) is not None]
        size = min(given) if given else self.limits.default_page_size
        return max(0, min(size, self.limits.max_page_size))

    def _list_cap(self, field: GraphQLField, node: FieldNode, type_name: str) -> int:
        ids = self._arguments(field, node).get("ids")
        if isinstance(ids, list):
            return min(len(ids), self.limits.max_page_size)
        return LIST_CAPS.get(type_name, self.limits.max_page_size)

    def _arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        # Only the arguments the cost reads: the others may use variables left uncoerced.
        read = {name: arg for name, arg in field.args.items() if name in COST_ARGUMENTS}
        try:
            return get_argument_values(GraphQLField(field.type, read), node, self.variables)
        except Exception:  # a bad argument is execution's to report
            return {}

    def _collect(
        self, selection_sets: Iterable[SelectionSetNode], runtime: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        """Fields by response key, as execution merges them, for one runtime type."""
        fields: dict[str, list[FieldNode]] = {}
        seen: set[str] = set()

        def visit(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    if not selection.name.value.startswith("__"):  # introspection is free
                        key = (selection.alias or selection.name).value
                        fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is None or self._applies(condition.name.value, runtime):
                        visit(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in seen or fragment is None:
                        continue
                    seen.add(name)
                    if self._applies(fragment.type_condition.name.value, runtime):
                        visit(fragment.selection_set)

        for selection_set in selection_sets:
            visit(selection_set)
        return fields

    def _applies(self, condition: str, runtime: GraphQLObjectType) -> bool:
        condition_type = self.schema.get_type(condition)
        if condition_type is None:
            return False
        if condition_type is runtime:
            return True
        return is_abstract_type(condition_type) and self.schema.is_sub_type(condition_type, runtime)

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode | Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return include is None or include.get("if") is True


def _unwrap(type_: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


def _is_connection(type_: GraphQLObjectType) -> bool:
    return "edges" in type_.fields and "pageInfo" in type_.fields

"""A validated read operation -> a plan tree, or ``None`` when the resolver path must run it.

Fields are collected exactly as graphql-core's executor collects them (fragments named and
inline, aliases, ``@skip``/``@include``, merging of equal response keys), so the plan has
the response's shape. Each field's arguments are checked and normalized by its mapping's
``bind``; a field without a mapping, or with arguments that are not plainly valid (they
would give an error on the resolver path), sends the whole operation to the resolver path.

Values never enter the SQL text: each normalized argument gets a parameter slot, numbered
in plan order, so equal shapes share one compiled statement whatever the values.
"""

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

from tenantry.settings import Settings

# json_build_object takes at most 100 arguments: 50 keys and their values.
MAX_KEYS_PER_OBJECT = 50

# A field's normalized arguments: (shape that changes the SQL text, values bound as
# parameters); None when the resolver path must answer (it reports the error).
Bound = tuple[Hashable, dict[str, Any]] | None
Binder = Callable[[Mapping[str, Any], Settings], Bound]


class Fallback(Exception):
    """The operation is outside what the compiler covers."""


@dataclass(frozen=True)
class PlannedField:
    key: str  # the response key (alias or name)
    name: str  # the schema field name; "__typename" included
    type_name: str  # the named type the field returns
    shape: Hashable
    slots: dict[str, str]  # argument -> parameter name
    children: tuple["PlannedField", ...]

    def signature(self) -> Hashable:
        # Which arguments are bound is part of the shape: a page's size is ``first`` or
        # ``last`` (``arguments.backward``), read in opposite orders.
        children = tuple(c.signature() for c in self.children)
        return (self.key, self.name, self.shape, tuple(self.slots), children)


@dataclass
class Plan:
    fields: tuple[PlannedField, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def signature(self) -> Hashable:
        return tuple(f.signature() for f in self.fields)


class Planner:
    """Plans one operation; ``binders(type, field)`` says which fields are covered."""

    def __init__(
        self,
        schema: GraphQLSchema,
        settings: Settings,
        binder_of: Callable[[str, str], Binder | None],
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.binder_of = binder_of

    def plan(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> Plan | None:
        try:
            return self._plan(document, operation_name, variables or {})
        except Fallback:
            return None

    def _plan(
        self, document: DocumentNode, operation_name: str | None, variables: dict[str, Any]
    ) -> Plan:
        operation = get_operation_ast(document, operation_name)
        query_type = self.schema.query_type
        if operation is None or operation.operation is not OperationType.QUERY or not query_type:
            raise Fallback
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if not isinstance(coerced, VariableValues):
            raise Fallback  # the resolver path reports the variable errors
        self._fragments = {
            d.name.value: FragmentDetails(d)
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._operation = operation
        self._variables = coerced
        self._plan_values: dict[str, Any] = {}
        collected = collect_fields(
            self.schema, self._fragments, coerced, query_type, operation
        ).grouped_field_set
        fields = self._fields(query_type, collected)
        return Plan(fields, self._plan_values)

    def _fields(
        self, parent: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]
    ) -> tuple[PlannedField, ...]:
        if len(grouped) > MAX_KEYS_PER_OBJECT:
            raise Fallback
        return tuple(self._field(parent, key, details) for key, details in grouped.items())

    def _field(
        self, parent: GraphQLObjectType, key: str, details: list[FieldDetails]
    ) -> PlannedField:
        if any(d.defer_usage is not None or d.fragment_variable_values for d in details):
            raise Fallback
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return PlannedField(key, name, parent.name, None, {}, ())
        binder = self.binder_of(parent.name, name)
        definition = parent.fields.get(name)
        if binder is None or definition is None:
            raise Fallback
        bound = binder(get_argument_values(definition, node, self._variables), self.settings)
        if bound is None:
            raise Fallback
        shape, values = bound
        slots = {}
        for argument, value in values.items():
            slot = f"p{len(self._plan_values)}"
            self._plan_values[slot] = value
            slots[argument] = slot
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLInterfaceType):
            # Which object type a node field returns is known from its ids: the binder
            # names it in the shape (or None: the field is null, whatever is selected).
            runtime = self.schema.get_type(shape) if isinstance(shape, str) else None
            if runtime is None:
                return PlannedField(key, name, named.name, shape, slots, ())
            if not isinstance(runtime, GraphQLObjectType):
                raise Fallback
            named = runtime
        children: tuple[PlannedField, ...] = ()
        if isinstance(named, GraphQLObjectType):
            sub = collect_subfields(
                self.schema, self._fragments, self._variables, self._operation, named, details
            ).grouped_field_set
            children = self._fields(named, sub)
        elif node.selection_set is not None:
            raise Fallback  # interfaces and unions: not compiled yet
        return PlannedField(key, name, named.name, shape, slots, children)


def no_arguments(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    return None, {}

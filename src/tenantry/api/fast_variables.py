"""Variables read by the API's own parser instead of graphql-core's and Strawberry's coercion.

Both coerce an input object field by field through generic machinery: for a batch of
10,000 usage records that is 50,000 scalar coercions, a nesting check, then 10,000 input
objects built again by Strawberry, which took most of an ingestion request's time. A parser
registered here for a variable's declared type (as written in the document, e.g.
``[UsageRecordInput!]!``) reads the raw JSON value in one pass and gives the parsed value
to the resolver. It accepts only values graphql-core would accept and parse to the same
thing; for anything else it declines, and graphql-core coerces the raw value and reports
its errors exactly as before. Guards that run before execution (roles, NUL text, list
lengths) still see the raw variables first.
"""

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, print_ast
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# A raw variable value -> (a cheap value for graphql-core to coerce in its place, the parsed
# value the resolvers get), or None to let graphql-core coerce the raw value itself.
VariableParser = Callable[[object], tuple[object, object] | None]


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class FastVariables(StrawberryGraphQLCoreExecutionContext):
    parsers: ClassVar[Mapping[str, VariableParser]] = {}

    @classmethod
    def build(  # noqa: PLR0917 (graphql-core passes these by position)
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        parsed: dict[str, object] = {}
        operation = _operation(document, operation_name) if raw_variable_values else None
        if operation is not None and raw_variable_values is not None:
            raw_variable_values = dict(raw_variable_values)
            for definition in operation.variable_definitions or ():
                name = definition.variable.name.value
                parser = cls.parsers.get(print_ast(definition.type))
                if parser is None or name not in raw_variable_values:
                    continue
                outcome = parser(raw_variable_values[name])
                if outcome is not None:
                    raw_variable_values[name], parsed[name] = outcome
        built = super().build(
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )
        if parsed and not isinstance(built, list):  # a list: errors, nothing executes
            built.variable_values.coerced.update(parsed)
        return built


def executor_with(parsers: Mapping[str, VariableParser]) -> type[FastVariables]:
    """The executor class for a schema, with its variable parsers."""
    return type("FastVariables", (FastVariables,), {"parsers": parsers})

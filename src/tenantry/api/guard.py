"""Every data field needs a token; ``__typename`` and introspection do not."""

from collections.abc import Iterator

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from tenantry.api.errors import unauthenticated

PUBLIC_ROOT_FIELDS = frozenset({"__typename", "__schema", "__type"})


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments)


class RequireAuthentication(SchemaExtension):
    """Refuses, before execution, any anonymous operation that asks for data."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        document = self.execution_context.graphql_document
        if getattr(context, "principal", None) is None and document is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            name = self.execution_context.operation_name
            wanted = {
                field
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
                and (name is None or (d.name and d.name.value == name))
                for field in _root_fields(d.selection_set, fragments)
            }
            if wanted - PUBLIC_ROOT_FIELDS:
                # Setting a result before execution makes Strawberry skip execution.
                self.execution_context.result = ExecutionResult(
                    data=None, errors=[unauthenticated()]
                )
        yield

"""What is settled before execution: a token for data, a WebSocket for subscriptions, and
nothing learned about the schema's names by anonymous callers (no "Did you mean ...?")."""

import re
from collections.abc import Iterator

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from tenantry.api.errors import request_error, unauthenticated

PUBLIC_ROOT_FIELDS = frozenset({"__typename", "__schema", "__type"})

# graphql-core appends its suggestions as " Did you mean 'a', 'b', or 'c'?".
SUGGESTION = re.compile(r" Did you mean .*\?$", re.DOTALL)

SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions need a WebSocket: connect to this endpoint with the "
    "graphql-transport-ws protocol (queries and mutations work over HTTP)."
)


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


def root_field_names(execution_context: ExecutionContext) -> set[str]:
    """The root fields the request asks for (of every operation when none is named)."""
    document = execution_context.graphql_document
    if document is None:
        return set()
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    name = execution_context.operation_name
    return {
        field
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (name is None or (d.name and d.name.value == name))
        for field in _root_fields(d.selection_set, fragments)
    }


def refuse(execution_context: ExecutionContext, error: GraphQLError) -> None:
    """Answer ``error`` instead of executing (Strawberry skips execution once a result is
    set), unless an earlier guard has refused already."""
    if execution_context.result is None:
        execution_context.result = ExecutionResult(data=None, errors=[error])


def is_anonymous(execution_context: ExecutionContext) -> bool:
    return getattr(execution_context.context, "principal", None) is None


class RequireAuthentication(SchemaExtension):
    """Refuses, before execution, any anonymous operation that asks for data."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if is_anonymous(context) and root_field_names(context) - PUBLIC_ROOT_FIELDS:
            refuse(context, unauthenticated())
        yield


class RequireWebSocketForSubscriptions(SchemaExtension):
    """A subscription over HTTP is answered with HTTP 400 and how to subscribe instead."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION and not isinstance(
            getattr(context, "request", None), WebSocket
        ):
            response = getattr(context, "response", None)
            if isinstance(response, Response):
                response.status_code = 400
            refuse(self.execution_context, request_error(SUBSCRIPTION_OVER_HTTP, "BAD_REQUEST"))
        yield


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    # A copy: the validation cache shares its error objects between requests.
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class HideSuggestionsFromAnonymous(SchemaExtension):
    """Field, argument and type suggestions are for callers with a token."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors and is_anonymous(self.execution_context):
            # A new list: validation errors may be the validation cache's own list.
            result.errors = [_without_suggestion(e) for e in result.errors]

"""The schema extensions every request passes through: guards, limits, caches, masking."""

from collections.abc import Callable

from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from tenantry.api.document_limits import MaxDefinitions
from tenantry.api.errors import (
    UNEXPECTED_MESSAGE,
    is_unexpected,
    request_id_of,
    with_cause_code,
)
from tenantry.api.guard import (
    HideSuggestionsFromAnonymous,
    RequireAuthentication,
    RequireWebSocketForSubscriptions,
)
from tenantry.api.inputs import CheckInputBeforeCoercion
from tenantry.api.roles import RequireRoleBeforeInput
from tenantry.settings import Settings


class MaskUnexpectedErrors(MaskErrors):
    """Hides unexpected errors behind a request id (the logs have the traceback), and keeps
    the code of a refused input value on the error that reports it."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=UNEXPECTED_MESSAGE)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return super()._process_errors([with_cause_code(error) for error in errors])

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {
            "code": "INTERNAL_SERVER_ERROR",
            "requestId": request_id_of(self.execution_context.context),
        }
        return masked


def _shared(extension: SchemaExtension) -> Callable[[], SchemaExtension]:
    """One instance for every request: the caches must outlive a request to be caches."""
    return lambda: extension


def schema_extensions(
    settings: Settings,
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    return [
        _shared(MaxTokensLimiter(max_token_count=settings.max_tokens)),
        _shared(ParserCache(maxsize=512)),
        lambda: MaxDefinitions(settings.max_operations, settings.max_fragments),
        _shared(ValidationCache(maxsize=512)),
        _shared(QueryDepthLimiter(max_depth=settings.max_query_depth)),
        _shared(MaxAliasesLimiter(max_alias_count=settings.max_aliases)),
        RequireAuthentication,
        RequireWebSocketForSubscriptions,
        RequireRoleBeforeInput,
        lambda: CheckInputBeforeCoercion(settings.max_input_list_length),
        HideSuggestionsFromAnonymous,
        # Classes, not instances: Strawberry then makes one per request, so the request id
        # an instance reads from its execution context is never another request's.
        MaskUnexpectedErrors,
    ]

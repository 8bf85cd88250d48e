"""An ``extensions.code`` on every error graphql-core and Strawberry's limits raise before
execution, so a client can tell a typo from a limit without reading the message.

Codes follow Apollo Server's where one exists (``GRAPHQL_PARSE_FAILED``,
``GRAPHQL_VALIDATION_FAILED``, ``BAD_USER_INPUT`` for a variable that does not coerce).
"""

from collections.abc import Iterable, Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
BAD_USER_INPUT = "BAD_USER_INPUT"

# Strawberry's limiters report through graphql-core's messages only.
_MESSAGE_CODES = (
    ("tokens. Parsing aborted.", TOO_MANY_TOKENS),
    ("exceeds maximum operation depth", QUERY_TOO_DEEP),
    ("aliases found. Allowed:", TOO_MANY_ALIASES),
)


def _code_by_message(error: GraphQLError, default: str) -> str:
    return next((code for text, code in _MESSAGE_CODES if text in error.message), default)


def _give_code(errors: Iterable[GraphQLError], code_of: str) -> None:
    for error in errors:
        if error.path is None and not (error.extensions or {}).get("code"):
            # Validation errors may be the validation cache's own objects: the same code
            # for the same document, so setting it again is harmless.
            error.extensions = {
                **(error.extensions or {}),
                "code": _code_by_message(error, code_of),
            }


def give_parse_codes(errors: Iterable[GraphQLError]) -> None:
    """For the schema's ``process_errors``: the parser cache parses inside its own hook, and
    its error reaches the result without passing through any extension's."""
    _give_code([e for e in errors if isinstance(e, GraphQLSyntaxError)], PARSE_FAILED)


class RequestErrorCodes(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        _give_code(self.execution_context.pre_execution_errors or (), VALIDATION_FAILED)

    def on_execute(self) -> Iterator[None]:
        yield
        # Left without a path after execution: variables that did not coerce.
        result = self.execution_context.result
        _give_code(getattr(result, "errors", None) or (), BAD_USER_INPUT)

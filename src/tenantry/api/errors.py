"""Errors at the GraphQL edge.

Three kinds: ``userErrors`` in mutation payloads (from ``DomainError``), ``ClientError``
for a malformed request (shown as is, with an ``extensions.code``), and everything
else, which is unexpected: logged in full with the request id, and masked for the client.
"""

import logging
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.responses import Response

from tenantry.core.errors import ErrorCode, Problem

log = logging.getLogger("tenantry.api")

UNEXPECTED_MESSAGE = "Unexpected error."


class ClientError(Exception):
    """A request the client must fix (bad page size, bad cursor, missing token...)."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.extensions = {"code": code}


def unauthenticated() -> GraphQLError:
    return GraphQLError(
        "Authentication required: send 'Authorization: Bearer <token>'.",
        extensions={"code": "UNAUTHENTICATED"},
    )


def request_error(message: str, code: str) -> GraphQLError:
    """An error about the request as a whole (no field path): shown to the client as is."""
    return GraphQLError(message, extensions={"code": code})


def error_response(status_code: int, message: str, code: str) -> Response:
    """A refusal outside GraphQL execution, still in GraphQL's JSON error shape."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status_code, media_type="application/json")


def is_unexpected(error: GraphQLError) -> bool:
    # Errors without an original exception come from parsing, validation or our own
    # GraphQLErrors; coercion errors of variables have no path. Both keep their messages.
    original = error.original_error
    return original is not None and error.path is not None and not isinstance(original, ClientError)


def with_cause_code(error: GraphQLError) -> GraphQLError:
    """Give a wrapping error the code of its cause: graphql-core wraps a scalar's refusal of
    a variable in an error of its own ("Variable '$i' has invalid value...") without it."""
    cause = error.original_error
    code = (cause.extensions or {}).get("code") if isinstance(cause, GraphQLError) else None
    if code is not None and not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


strawberry.enum(ErrorCode, description="Why a mutation refused its input.")


@strawberry.type(description="A problem with a mutation's input. Nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "moniker"].'
    )
    message: str
    code: ErrorCode

    @classmethod
    def from_problem(cls, problem: Problem) -> "UserError":
        return cls(
            field=list(problem.field) if problem.field else None,
            message=problem.message,
            code=problem.code,
        )


def request_id_of(context: Any) -> str:
    return str(getattr(context, "request_id", "-"))


def log_unexpected(errors: list[GraphQLError], context: Any) -> None:
    for error in errors:
        if is_unexpected(error):
            log.error(
                "Unexpected error in %s (request %s)",
                ".".join(str(p) for p in error.path or ()),
                request_id_of(context),
                exc_info=error.original_error,
            )

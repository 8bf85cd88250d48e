"""Errors at the GraphQL edge.

Three kinds: ``userErrors`` in mutation payloads (from ``DomainError``), ``ClientError``
for a malformed request (shown as is, with an ``extensions.code``), and everything
else, which is unexpected: logged in full with the request id, and masked for the client.
"""

import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import orjson
import sqlalchemy.exc
import strawberry
from graphql import GraphQLError
from starlette.responses import Response

from tenantry.api.types.enums import expose_enum
from tenantry.core.errors import ErrorCode, Problem

log = logging.getLogger("tenantry.api")

UNEXPECTED_MESSAGE = "Unexpected error."

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The service is busy or its database is unavailable; retry later."
TIMEOUT = "TIMEOUT"
TIMEOUT_MESSAGE = "The request took too long and was stopped; ask for less (smaller pages)."
# Seconds a client should wait before retrying a SERVICE_UNAVAILABLE answer.
RETRY_AFTER_SECONDS = 1


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


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped, and what caused it."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [current.__cause__, current.__context__]


# Connection exceptions (class 08), server shutting down or starting, too many clients.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# Cancelled by statement_timeout (or by an operator).
_TIMEOUT_STATE = "57014"


def database_failure(exc: BaseException) -> str | None:
    """``SERVICE_UNAVAILABLE`` when the database cannot be reached or the pool is exhausted,
    ``TIMEOUT`` when a statement ran past the statement timeout, else None."""
    for cause in _chain(exc):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state == _TIMEOUT_STATE:
            return TIMEOUT
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return SERVICE_UNAVAILABLE
        if isinstance(
            cause,
            sqlalchemy.exc.TimeoutError  # no pooled connection came free in time
            | asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError  # "connection is closed"
            | OSError,  # refused, reset, unreachable, connect timed out
        ):
            return SERVICE_UNAVAILABLE
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return SERVICE_UNAVAILABLE
    return None


def database_failure_error(code: str, error: GraphQLError | None = None) -> GraphQLError:
    """The error a client sees for ``database_failure``'s codes: no SQL, a clear code."""
    unavailable = code == SERVICE_UNAVAILABLE
    return GraphQLError(
        UNAVAILABLE_MESSAGE if unavailable else TIMEOUT_MESSAGE,
        nodes=error.nodes if error else None,
        path=error.path if error else None,
        extensions={"code": code, **({"retryAfter": RETRY_AFTER_SECONDS} if unavailable else {})},
    )


def unavailable_body() -> dict[str, object]:
    return {"errors": [database_failure_error(SERVICE_UNAVAILABLE).formatted]}


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


expose_enum(
    ErrorCode,
    "Why a mutation refused its input.",
    {
        ErrorCode.INVALID: "The value breaks a rule (format, range, a required choice); the "
        "message says which.",
        ErrorCode.TAKEN: "A value that must be unique is in use (moniker, email, ICCID, a "
        "billing entity's or operator's name, an invoice number prefix).",
        ErrorCode.NOT_FOUND: "No such object, or one you may not see: the answer is the same.",
        ErrorCode.FORBIDDEN: "You see the object, but your role or place in the tree may not "
        "do this.",
        ErrorCode.NOT_PARTNER: "The tenant named is not a partner.",
        ErrorCode.LOCKED: "The value cannot be changed here (a managed tenant's currency and "
        "billing entity are its partner's; a tenant's currency is fixed).",
        ErrorCode.CURRENCY_MISMATCH: "A tariff or move would have an account pay in another "
        "currency than its own.",
        ErrorCode.INSUFFICIENT_FUNDS: "A debit would take the account past its credit limit.",
        ErrorCode.IDEMPOTENCY_KEY_REUSED: "The idempotency key was used before with other input.",
        ErrorCode.READ_ONLY: "The request acts through a read-only impersonation.",
        ErrorCode.LIMIT_EXCEEDED: "An amount, quantity, balance or total would pass its bound "
        "(the README's money limits).",
        ErrorCode.CYCLE: "A tenant cannot move under itself or a tenant below it.",
    },
)

USER_ERRORS = (
    "Why the input was refused, every problem at once; empty on success. When it is not "
    "empty, nothing was changed."
)


@strawberry.type(description="A problem with a mutation's input. Nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "moniker"].'
    )
    message: str = strawberry.field(description="What is wrong, in a sentence for people.")
    code: ErrorCode = strawberry.field(description="What is wrong, for programs.")

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
        if is_unexpected(error) and error.original_error is not None:
            failure = database_failure(error.original_error)
            if failure is not None:
                log.warning("%s in request %s: %s", failure, request_id_of(context), error)
                continue
            log.error(
                "Unexpected error in %s (request %s)",
                ".".join(str(p) for p in error.path or ()),
                request_id_of(context),
                exc_info=error.original_error,
            )

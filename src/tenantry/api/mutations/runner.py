"""Runs one mutation in one transaction and shapes its payload."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.nodes import SelectedField

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.audit import service as audit
from tenantry.auth.principal import Principal
from tenantry.core.errors import READ_ONLY, DomainError

R = TypeVar("R")
In = TypeVar("In")

# The one argument of every mutation: ``input: Input[CreateTariffInput]``.
Input = Annotated[
    In,
    strawberry.argument(
        description="Everything the mutation needs, in one object; every problem with it is "
        "reported at once in the payload's userErrors."
    ),
]


def _input_of(info: Info) -> object:
    """The mutation's input as the client sent it, for the audit entry's details."""
    field = info.selected_fields[0] if info.selected_fields else None
    return field.arguments.get("input") if isinstance(field, SelectedField) else None


P = TypeVar("P", bound="Payload")


class Payload(Protocol):
    def __init__(self, *, user_errors: list[UserError]) -> None: ...


async def mutate(
    info: Info,
    action: Callable[[AsyncSession, Principal], Awaitable[R]],
    success: Callable[[R], P],
    payload: type[P],
    *,
    after_commit: Callable[[R], Awaitable[None]] | None = None,
    allowed_read_only: bool = False,
    audited: Callable[[R], bool] | None = None,
) -> P:
    """The request owns the transaction: commit on success, roll back on any error.

    Every change is written to the audit log in its own transaction. A read-only
    impersonation changes nothing (``allowed_read_only``: only for ending it).
    ``after_commit`` runs once the data is committed (e.g. queueing a job that reads it).
    ``audited`` says whether a result changed anything (a dry run does not: no audit event)."""
    context = info.context
    actor = context.actor
    if actor.read_only and not allowed_read_only:
        return payload(user_errors=[UserError.from_problem(READ_ONLY)])
    try:
        async with context.db.write() as session:
            result = await action(session, actor)
            if audited is None or audited(result):
                await audit.record(session, actor, info.field_name, result, _input_of(info))
    except DomainError as error:
        return payload(user_errors=[UserError.from_problem(p) for p in error.problems])
    context.reset_loaders()
    if after_commit is not None:
        await after_commit(result)
    return success(result)


async def inspect(
    info: Info,
    action: Callable[[AsyncSession, Principal], Awaitable[R]],
    success: Callable[[R], P],
    payload: type[P],
) -> P:
    """A mutation that changes nothing (a preview): a read session, nothing audited, and a
    read-only impersonation may run it."""
    try:
        async with info.context.db.read() as session:
            result = await action(session, info.context.actor)
    except DomainError as error:
        return payload(user_errors=[UserError.from_problem(p) for p in error.problems])
    return success(result)

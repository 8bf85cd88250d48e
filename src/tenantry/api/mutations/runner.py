"""Runs one mutation in one transaction and shapes its payload."""

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError

R = TypeVar("R")
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
) -> P:
    """The request owns the transaction: commit on success, roll back on any error.

    ``after_commit`` runs once the data is committed (e.g. queueing a job that reads it)."""
    context = info.context
    try:
        async with context.db.write() as session:
            result = await action(session, context.actor)
    except DomainError as error:
        return payload(user_errors=[UserError.from_problem(p) for p in error.problems])
    context.reset_loaders()
    if after_commit is not None:
        await after_commit(result)
    return success(result)

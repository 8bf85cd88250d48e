"""All SQL about users and API tokens."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg as asyncpg_driver
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.models import ApiToken, Impersonation, User
from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.tenants.models import Tenant


def _live_token(now: datetime | sa.BindParameter[datetime]) -> tuple[sa.ColumnElement[bool], ...]:
    """An API token that is neither revoked nor expired."""
    return (
        ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


# The columns a principal is made of, alike for an API token and an impersonation token.
PRINCIPAL_COLUMNS = (
    "user_id",
    "tenant_id",
    "role",
    "parent_id",
    "token_id",
    "is_partner",
    "impersonation_id",
    "read_only",
)


def principal_select(impersonating: bool) -> sa.Select[*tuple[Any, ...]]:
    """The one statement that turns a token's digest (``digest``) into a principal's columns
    at ``now``: a live API token, or a live impersonation whose source token is live too.
    Both authentication paths (a session, a bare pooled connection) run it."""
    digest = sa.bindparam("digest", type_=sa.String())
    now = sa.bindparam("now", type_=sa.DateTime(timezone=True))
    if impersonating:
        # An impersonation lives no longer than the API token that started it.
        return (
            sa.select(
                Impersonation.actor_user_id.label("user_id"),
                Tenant.id.label("tenant_id"),
                sa.null().label("role"),
                Tenant.parent_id.label("parent_id"),
                ApiToken.id.label("token_id"),
                Tenant.is_partner.label("is_partner"),
                Impersonation.id.label("impersonation_id"),
                Impersonation.read_only.label("read_only"),
            )
            .join(Tenant, Tenant.id == Impersonation.tenant_id)
            .join(ApiToken, ApiToken.id == Impersonation.source_token_id)
            .where(
                Impersonation.token_hash == digest,
                Impersonation.ended_at.is_(None),
                Impersonation.expires_at > now,
                *_live_token(now),
            )
        )
    return (
        sa.select(
            User.id.label("user_id"),
            Tenant.id.label("tenant_id"),
            sa.cast(User.role, sa.String()).label("role"),
            Tenant.parent_id.label("parent_id"),
            ApiToken.id.label("token_id"),
            Tenant.is_partner.label("is_partner"),
            sa.null().label("impersonation_id"),
            sa.false().label("read_only"),
        )
        .join(User, User.id == ApiToken.user_id)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(ApiToken.token_hash == digest, *_live_token(now))
    )


_PRINCIPAL_SELECTS = {kind: principal_select(kind) for kind in (False, True)}
_dialect: sa.Dialect = asyncpg.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]


def _compiled(stmt: sa.Select[*tuple[Any, ...]]) -> _Compiled:
    compiled = stmt.compile(dialect=_dialect)
    return _Compiled(compiled.string, tuple(compiled.positiontup or ()))


# Compiled once, for the driver's own placeholders: asyncpg prepares it once per connection.
_PRINCIPAL_SQL = {kind: _compiled(stmt) for kind, stmt in _PRINCIPAL_SELECTS.items()}


def principal_sql(impersonating: bool) -> tuple[str, tuple[str, ...]]:
    """The statement's text for the driver (``$n`` placeholders) and its parameters' names."""
    compiled = _PRINCIPAL_SQL[impersonating]
    return compiled.sql, compiled.names


async def principal_fields(
    session: AsyncSession, digest: str, now: datetime, *, impersonating: bool
) -> Mapping[str, Any] | None:
    stmt = _PRINCIPAL_SELECTS[impersonating]
    row = (await session.execute(stmt, {"digest": digest, "now": now})).first()
    return None if row is None else dict(row._mapping)


async def principal_fields_on(
    connection: asyncpg_driver.Connection, digest: str, now: datetime, *, impersonating: bool
) -> Mapping[str, Any] | None:
    """The same statement on a bare driver connection: one round trip, no transaction."""
    compiled = _PRINCIPAL_SQL[impersonating]
    values = {"digest": digest, "now": now}
    row = await connection.fetchrow(compiled.sql, *(values[name] for name in compiled.names))
    return None if row is None else dict(row.items())


async def add(session: AsyncSession, row: User | ApiToken | Impersonation) -> None:
    session.add(row)
    await session.flush()


def user_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """The users the scope may see (the compiled read path builds on it too)."""
    return scope.owned_by_visible_tenant(User.tenant_id)


async def get_user(session: AsyncSession, scope: Scope, user_id: int) -> User | None:
    return await session.scalar(sa.select(User).where(User.id == user_id, user_filter(scope)))


async def email_exists(session: AsyncSession, tenant_id: int, email: str) -> bool:
    stmt = sa.select(
        sa.exists().where(User.tenant_id == tenant_id, sa.func.lower(User.email) == email.lower())
    )
    return bool(await session.scalar(stmt))


async def first_admin(session: AsyncSession, tenant_id: int) -> User | None:
    stmt = (
        sa.select(User).where(User.tenant_id == tenant_id, User.role == "ADMIN").order_by(User.id)
    )
    return await session.scalar(stmt.limit(1))


async def users_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[User]:
    stmt = sa.select(User).where(any_of(User.id, ids), user_filter(scope))
    return list((await session.scalars(stmt)).all())


async def user_pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[User]]:
    return await pages_by_key(
        session,
        User,
        User.tenant_id,
        tenant_ids,
        page,
        user_filter(scope),
    )


async def user_counts(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(session, User.tenant_id, tenant_ids, user_filter(scope))


async def get_token(
    session: AsyncSession, scope: Scope, token_id: int, *, for_update: bool = False
) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(
        ApiToken.id == token_id, scope.owned_by_visible_tenant(ApiToken.tenant_id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def tokens_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[ApiToken]:
    stmt = sa.select(ApiToken).where(
        any_of(ApiToken.id, ids), scope.owned_by_visible_tenant(ApiToken.tenant_id)
    )
    return list((await session.scalars(stmt)).all())


async def get_impersonation(
    session: AsyncSession, impersonation_id: int, *, for_update: bool = False
) -> Impersonation | None:
    stmt = sa.select(Impersonation).where(Impersonation.id == impersonation_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def impersonations_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Impersonation]:
    return list(
        (await session.scalars(sa.select(Impersonation).where(any_of(Impersonation.id, ids)))).all()
    )


async def users_by_ids_unscoped(session: AsyncSession, ids: Sequence[int]) -> list[User]:
    return list((await session.scalars(sa.select(User).where(any_of(User.id, ids)))).all())


async def expire_impersonations(session: AsyncSession, now: datetime) -> list[Impersonation]:
    """End every impersonation whose time is up; returns them (for the audit log)."""
    stmt = (
        sa.update(Impersonation)
        .where(Impersonation.ended_at.is_(None), Impersonation.expires_at <= now)
        .values(ended_at=Impersonation.expires_at)
        .returning(Impersonation)
    )
    return list((await session.scalars(stmt)).all())


async def end_impersonations_from_token(
    session: AsyncSession, token_id: int, now: datetime
) -> list[Impersonation]:
    """End the live impersonations a token started (it is being revoked); returns them."""
    stmt = (
        sa.update(Impersonation)
        .where(
            Impersonation.source_token_id == token_id,
            Impersonation.ended_at.is_(None),
            Impersonation.expires_at > now,
        )
        .values(ended_at=now)
        .returning(Impersonation)
    )
    return list((await session.scalars(stmt)).all())

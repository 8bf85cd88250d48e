"""All SQL about users and API tokens."""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.models import ApiToken, Impersonation, User
from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.tenants.models import Tenant


async def principal_row(
    session: AsyncSession, digest: str, now: datetime
) -> tuple[ApiToken, User, Tenant] | None:
    stmt = (
        sa.select(ApiToken, User, Tenant)
        .join(User, User.id == ApiToken.user_id)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(ApiToken.token_hash == digest, *_live_token(now))
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1], row[2])


def _live_token(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """An API token that is neither revoked nor expired."""
    return (
        ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


async def add(session: AsyncSession, row: User | ApiToken | Impersonation) -> None:
    session.add(row)
    await session.flush()


async def get_user(session: AsyncSession, scope: Scope, user_id: int) -> User | None:
    return await session.scalar(
        sa.select(User).where(User.id == user_id, scope.owned_by_visible_tenant(User.tenant_id))
    )


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
    stmt = sa.select(User).where(
        any_of(User.id, ids), scope.owned_by_visible_tenant(User.tenant_id)
    )
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
        scope.owned_by_visible_tenant(User.tenant_id),
    )


async def user_counts(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(
        session, User.tenant_id, tenant_ids, scope.owned_by_visible_tenant(User.tenant_id)
    )


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


async def live_impersonation(
    session: AsyncSession, digest: str, now: datetime
) -> tuple[Impersonation, Tenant] | None:
    # An impersonation lives no longer than the API token that started it.
    stmt = (
        sa.select(Impersonation, Tenant)
        .join(Tenant, Tenant.id == Impersonation.tenant_id)
        .join(ApiToken, ApiToken.id == Impersonation.source_token_id)
        .where(
            Impersonation.token_hash == digest,
            Impersonation.ended_at.is_(None),
            Impersonation.expires_at > now,
            *_live_token(now),
        )
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


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

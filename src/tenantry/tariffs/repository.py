"""All SQL about tariffs and their rates."""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.tariffs.models import Tariff, TariffRate


async def add(session: AsyncSession, tariff: Tariff, rates: Sequence[TariffRate]) -> Tariff:
    session.add(tariff)
    await session.flush()
    for rate in rates:
        rate.tariff_id = tariff.id
        session.add(rate)
    await session.flush()
    return tariff


async def get_owned(session: AsyncSession, scope: Scope, tariff_id: int) -> Tariff | None:
    """A tariff a tenant in scope owns: one the caller may assign."""
    return await session.scalar(
        sa.select(Tariff).where(
            Tariff.id == tariff_id, scope.owned_by_visible_tenant(Tariff.tenant_id)
        )
    )


def readable(scope: Scope) -> sa.ColumnElement[bool]:
    """The tariffs the caller may read (the compiled read path builds on it too)."""
    return scope.tariffs(Tariff.id, Tariff.tenant_id)


def owned(scope: Scope) -> sa.ColumnElement[bool]:
    """The tariffs of tenants in scope: what a tenant's ``tariffs`` lists."""
    return scope.owned_by_visible_tenant(Tariff.tenant_id)


async def get(session: AsyncSession, scope: Scope, tariff_id: int) -> Tariff | None:
    """A tariff the caller may read (its own, or one it or its customers pay)."""
    return await session.scalar(sa.select(Tariff).where(Tariff.id == tariff_id, readable(scope)))


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Tariff]:
    """The tariffs the caller may read, of these ids."""
    return list(
        (
            await session.scalars(sa.select(Tariff).where(any_of(Tariff.id, ids), readable(scope)))
        ).all()
    )


async def rates_of(session: AsyncSession, tariff_ids: Sequence[int]) -> dict[int, list[TariffRate]]:
    # Callers pass ids of tariffs they already loaded through a scope (or for rating).
    stmt = (
        sa.select(TariffRate)
        .where(any_of(TariffRate.tariff_id, tariff_ids))
        .order_by(TariffRate.kind)
    )
    grouped: dict[int, list[TariffRate]] = defaultdict(list)
    for rate in (await session.scalars(stmt)).all():
        grouped[rate.tariff_id].append(rate)
    return grouped


async def owned_pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Tariff]]:
    return await pages_by_key(
        session,
        Tariff,
        Tariff.tenant_id,
        tenant_ids,
        page,
        owned(scope),
    )


async def owned_counts(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(session, Tariff.tenant_id, tenant_ids, owned(scope))


async def monthly_fees(session: AsyncSession, tariff_ids: Sequence[int]) -> dict[int, Decimal]:
    """The monthly fee per endpoint of those tariffs that have one (for the fee run)."""
    stmt = sa.select(Tariff.id, Tariff.monthly_fee_per_endpoint).where(
        any_of(Tariff.id, tariff_ids)
    )
    rows = (await session.execute(stmt)).all()
    return {tariff_id: fee for tariff_id, fee in rows if fee is not None}

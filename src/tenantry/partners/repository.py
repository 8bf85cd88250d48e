"""All SQL about billing entities, plan catalogs and managed tenants' plan periods."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.db.paging import any_of
from tenantry.partners.models import BillingEntity, Plan, PlanKind, PlanPeriod


async def add(session: AsyncSession, row: BillingEntity | Plan | PlanPeriod) -> None:
    session.add(row)
    await session.flush()


async def billing_entities(session: AsyncSession) -> list[BillingEntity]:
    # The platform's legal entities: a public catalog for every signed-in tenant.
    return list(
        (await session.scalars(sa.select(BillingEntity).order_by(BillingEntity.name))).all()
    )


async def billing_entities_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[BillingEntity]:
    return list(
        (await session.scalars(sa.select(BillingEntity).where(any_of(BillingEntity.id, ids)))).all()
    )


async def billing_entity_name_taken(session: AsyncSession, name: str) -> bool:
    stmt = sa.select(sa.exists().where(sa.func.lower(BillingEntity.name) == name.lower()))
    return bool(await session.scalar(stmt))


async def billing_entity_codes_like(session: AsyncSession, base: str) -> set[str]:
    """The codes taken that start with ``base``: where a default code must step around."""
    stmt = sa.select(BillingEntity.code).where(BillingEntity.code.startswith(base, autoescape=True))
    return set((await session.scalars(stmt)).all())


def plan_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on plans: those of partners in scope (both read paths)."""
    return scope.billing_of(Plan.tenant_id)


async def plans_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Plan]:
    stmt = sa.select(Plan).where(any_of(Plan.id, ids), plan_filter(scope))
    return list((await session.scalars(stmt)).all())


async def plan_unscoped(session: AsyncSession, plan_id: int) -> Plan | None:
    return await session.get(Plan, plan_id)


# A catalog's order: cheapest first (both read paths).
CATALOG_ORDER = (Plan.monthly_price, Plan.name, Plan.id)


async def catalogs(
    session: AsyncSession, scope: Scope, partner_ids: Sequence[int], kind: PlanKind
) -> dict[int, list[Plan]]:
    """Each partner's plans of one kind, cheapest first."""
    stmt = (
        sa.select(Plan)
        .where(
            any_of(Plan.tenant_id, partner_ids),
            Plan.kind == kind,
            plan_filter(scope),
        )
        .order_by(*CATALOG_ORDER)
    )
    grouped: dict[int, list[Plan]] = defaultdict(list)
    for plan in (await session.scalars(stmt)).all():
        grouped[plan.tenant_id].append(plan)
    return grouped


async def open_periods(
    session: AsyncSession, managed_tenant_ids: Sequence[int]
) -> list[PlanPeriod]:
    """The plans managed tenants are on now (callers pass tenants they can see)."""
    stmt = sa.select(PlanPeriod).where(
        any_of(PlanPeriod.managed_tenant_id, managed_tenant_ids), PlanPeriod.ended_at.is_(None)
    )
    return list((await session.scalars(stmt)).all())


async def close_period(
    session: AsyncSession, managed_tenant_id: int, kind: PlanKind, at: datetime
) -> None:
    await session.execute(
        sa.update(PlanPeriod)
        .where(
            PlanPeriod.managed_tenant_id == managed_tenant_id,
            PlanPeriod.kind == kind,
            PlanPeriod.ended_at.is_(None),
        )
        .values(ended_at=at)
    )

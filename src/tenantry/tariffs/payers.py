"""All SQL about who pays by a tariff and the usage they paid for.

A tariff's payers are the customers whose tariff it is and the sub-tenants whose tenant
tariff it is. A customer pays for the usage of its endpoints (level 0); a sub-tenant pays
for the usage of every endpoint in its subtree (see usage/models.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.auth.scope import Scope
from tenantry.customers.models import Customer
from tenantry.tariffs.models import TariffRate, TariffVersion
from tenantry.tariffs.repository import version_spans
from tenantry.tenants.models import Tenant
from tenantry.usage import rating_sql
from tenantry.usage.models import UsageRecord

CUSTOMER = "CUSTOMER"
TENANT = "TENANT"


@dataclass(frozen=True)
class ProposedRate:
    kind: str
    unit_price: Decimal
    increment: Decimal
    minimum: Decimal


@dataclass(frozen=True)
class PayerSums:
    payer_kind: str  # CUSTOMER | TENANT
    payer_id: int
    current: Decimal
    proposed: Decimal


def _usage(scope: Scope | None, tariff_id: int, *where: sa.ColumnElement[bool]) -> sa.Subquery:
    """(payer_kind, payer_id, kind, quantity, occurred_at) of every record a payer of the
    tariff paid for by its level, for the payers visible in ``scope`` (None: all)."""
    customers = sa.select(Customer.id).where(Customer.tariff_id == tariff_id)
    if scope is not None:
        customers = customers.where(scope.owned_by_visible_tenant(Customer.tenant_id))
    by_customers = sa.select(
        sa.literal(CUSTOMER).label("payer_kind"),
        UsageRecord.customer_id.label("payer_id"),
        sa.cast(UsageRecord.kind, sa.String).label("kind"),
        UsageRecord.quantity,
        UsageRecord.occurred_at,
    ).where(UsageRecord.customer_id.in_(customers), *where)
    payer, below = aliased(Tenant), aliased(Tenant)
    by_tenants = (
        sa.select(
            sa.literal(TENANT),
            payer.id,
            sa.cast(UsageRecord.kind, sa.String),
            UsageRecord.quantity,
            UsageRecord.occurred_at,
        )
        .select_from(payer)
        .join(below, below.path.contains(pg_array([payer.id])))
        .join(UsageRecord, UsageRecord.tenant_id == below.id)
        .where(payer.tenant_tariff_id == tariff_id, *where)
    )
    if scope is not None:
        by_tenants = by_tenants.where(scope.owned_by_visible_tenant(payer.id))
    return sa.union_all(by_customers, by_tenants).subquery("usage")


async def payers(session: AsyncSession, scope: Scope, tariff_id: int) -> list[tuple[str, int]]:
    """The visible payers of the tariff: customers, then sub-tenants, each in id order."""
    customers = sa.select(Customer.id).where(
        Customer.tariff_id == tariff_id, scope.owned_by_visible_tenant(Customer.tenant_id)
    )
    tenants = sa.select(Tenant.id).where(
        Tenant.tenant_tariff_id == tariff_id, scope.owned_by_visible_tenant(Tenant.id)
    )
    found = [(CUSTOMER, i) for i in (await session.scalars(customers.order_by(Customer.id)))]
    return found + [(TENANT, i) for i in (await session.scalars(tenants.order_by(Tenant.id)))]


async def any_usage_since(session: AsyncSession, tariff_id: int, since: datetime) -> bool:
    """Whether a payer of the tariff has usage recorded that occurred at or after ``since``
    (it may arrive early, within ingestion's clock margin), whoever can see it."""
    usage = _usage(None, tariff_id, UsageRecord.occurred_at >= since)
    return bool(await session.scalar(sa.select(sa.exists(sa.select(usage.c.payer_id)))))


def _proposed(rates: Sequence[ProposedRate]) -> Any:
    def column(values: list[Any], sql_type: Any) -> sa.BindParameter[Any]:
        return sa.bindparam(None, values, type_=ARRAY(sql_type))

    return (
        sa.func.unnest(
            column([r.kind for r in rates], sa.String),
            column([r.unit_price for r in rates], sa.Numeric),
            column([r.increment for r in rates], sa.Numeric),
            column([r.minimum for r in rates], sa.Numeric),
        )
        .table_valued("kind", "unit_price", "increment", "minimum")
        .render_derived(name="proposed", with_types=False)
    )


async def preview_sums(
    session: AsyncSession,
    scope: Scope,
    tariff_id: int,
    *,
    since: datetime,
    until: datetime,
    proposed: Sequence[ProposedRate],
) -> list[PayerSums]:
    """Per visible payer with usage in [since, until): what that usage cost by the tariff
    (each record by the version in force when it occurred) and what it would have cost by
    the proposed rates, to the millionth like the ledger. One statement.

    Records of one payer, kind, quantity and version cost the same: they are counted first
    and priced once (a year of usage repeats quantities a great deal)."""
    usage = _usage(
        scope, tariff_id, UsageRecord.occurred_at >= since, UsageRecord.occurred_at < until
    )
    spans = version_spans(TariffVersion.tariff_id == tariff_id)
    counted = (
        sa.select(
            usage.c.payer_kind,
            usage.c.payer_id,
            usage.c.kind,
            usage.c.quantity,
            spans.c.id.label("version_id"),
            sa.func.count().label("n"),
        )
        .select_from(usage)
        .join(
            spans,
            sa.and_(spans.c.starts <= usage.c.occurred_at, usage.c.occurred_at < spans.c.ends),
        )
        .group_by(usage.c.payer_kind, usage.c.payer_id, usage.c.kind, usage.c.quantity, spans.c.id)
        .subquery("counted")
    )
    new = _proposed(proposed)
    units = rating_sql.units_per_price(counted.c.kind)

    def total(rate: Any) -> sa.ColumnElement[Decimal]:
        price = rating_sql.charge(
            counted.c.quantity, rate.unit_price, rate.increment, rate.minimum, units
        )
        return sa.func.coalesce(sa.func.sum(counted.c.n * sa.func.coalesce(price, 0)), 0)

    stmt = (
        sa.select(counted.c.payer_kind, counted.c.payer_id, total(TariffRate), total(new.c))
        .select_from(counted)
        .outerjoin(
            TariffRate,
            sa.and_(
                TariffRate.version_id == counted.c.version_id,
                sa.cast(TariffRate.kind, sa.String) == counted.c.kind,
            ),
        )
        .outerjoin(new, new.c.kind == counted.c.kind)
        .group_by(counted.c.payer_kind, counted.c.payer_id)
    )
    return [PayerSums(*row) for row in (await session.execute(stmt)).all()]

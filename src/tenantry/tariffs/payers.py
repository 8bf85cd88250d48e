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
from tenantry.tariffs.models import UNITS_PER_PRICE, TariffRate, TariffVersion, UsageKind
from tenantry.tariffs.repository import version_spans
from tenantry.tenants.models import Tenant
from tenantry.usage import rating_sql
from tenantry.usage.models import UsageRecord

CUSTOMER = "CUSTOMER"
TENANT = "TENANT"


@dataclass(frozen=True)
class PayerSums:
    payer_kind: str  # CUSTOMER | TENANT
    payer_id: int
    current: Decimal
    proposed: Decimal


def _usage(
    scope: Scope | None, tariff_id: int, payer_kind: str | None, *where: sa.ColumnElement[bool]
) -> sa.Subquery:
    """(payer_id, kind, quantity, occurred_at) of every record a payer of the tariff (of
    ``payer_kind``, or either) paid for by its level, for the payers visible in ``scope``
    (None: all)."""
    customers = sa.select(Customer.id).where(Customer.tariff_id == tariff_id)
    if scope is not None:
        customers = customers.where(scope.owned_by_visible_tenant(Customer.tenant_id))
    by_customers = sa.select(
        UsageRecord.customer_id.label("payer_id"),
        sa.cast(UsageRecord.kind, sa.String).label("kind"),
        UsageRecord.quantity,
        UsageRecord.occurred_at,
    ).where(UsageRecord.customer_id.in_(customers), *where)
    payer, below = aliased(Tenant), aliased(Tenant)
    by_tenants = (
        sa.select(
            payer.id.label("payer_id"),
            sa.cast(UsageRecord.kind, sa.String).label("kind"),
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
    if payer_kind == CUSTOMER:
        return by_customers.subquery("usage")
    if payer_kind == TENANT:
        return by_tenants.subquery("usage")
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
    usage = _usage(None, tariff_id, None, UsageRecord.occurred_at >= since)
    return bool(await session.scalar(sa.select(sa.exists(sa.select(usage.c.payer_id)))))


@dataclass(frozen=True)
class Rate:
    """A rate in millionths (see usage/rating_sql.py), of a version (0: proposed)."""

    version_id: int
    kind: str
    unit_price: int
    increment: int
    minimum: int
    units: int

    @classmethod
    def of(
        cls, version_id: int, kind: str, price: Decimal, increment: Decimal, minimum: Decimal
    ) -> "Rate":
        def micro(value: Decimal) -> int:
            return int(value * rating_sql.MILLION)

        units = UNITS_PER_PRICE[UsageKind(kind)]
        return cls(version_id, kind, micro(price), micro(increment), micro(minimum), units)


def _table(name: str, columns: dict[str, tuple[list[Any], Any]]) -> Any:
    return (
        sa.func.unnest(
            *(
                sa.bindparam(None, values, type_=ARRAY(sql_type))
                for values, sql_type in columns.values()
            )
        )
        .table_valued(*columns)
        .render_derived(name=name, with_types=False)
    )


def _rates(name: str, rates: Sequence[Rate]) -> Any:
    return _table(
        name,
        {
            "version_id": ([r.version_id for r in rates], sa.BigInteger),
            "kind": ([r.kind for r in rates], sa.String),
            "unit_price": ([r.unit_price for r in rates], sa.BigInteger),
            "increment": ([r.increment for r in rates], sa.BigInteger),
            "minimum": ([r.minimum for r in rates], sa.BigInteger),
            "units": ([r.units for r in rates], sa.BigInteger),
        },
    )


async def versions_and_rates(
    session: AsyncSession, tariff_id: int
) -> tuple[list[tuple[int, datetime, datetime]], list[Rate]]:
    """The tariff's version spans (id, starts, ends) and every version's rates."""
    spans = version_spans(TariffVersion.tariff_id == tariff_id)
    found = (await session.execute(sa.select(spans.c.id, spans.c.starts, spans.c.ends))).all()
    rates = await session.scalars(sa.select(TariffRate).where(TariffRate.tariff_id == tariff_id))
    return [(i, s, e) for i, s, e in found], [
        Rate.of(r.version_id, r.kind.value, r.unit_price, r.increment, r.minimum) for r in rates
    ]


async def preview_sums(
    session: AsyncSession,
    scope: Scope,
    tariff_id: int,
    *,
    since: datetime,
    until: datetime,
    proposed: Sequence[Rate],
) -> list[PayerSums]:
    """Per visible payer with usage in [since, until): what that usage cost by the tariff
    (each record by the version in force when it occurred) and what it would have cost by
    the proposed rates, to the millionth like the ledger. One pass over the records per
    kind of payer (customers, sub-tenants); the tariff's versions are read first."""
    spans, current = await versions_and_rates(session, tariff_id)
    sums = []
    for payer_kind in (CUSTOMER, TENANT):
        stmt = preview_statement(
            scope, tariff_id, payer_kind, (since, until), spans, current, proposed
        )
        sums += [PayerSums(payer_kind, *row) for row in (await session.execute(stmt)).all()]
    return sums


def preview_statement(  # noqa: PLR0917 (the statement's parts, built by one caller)
    scope: Scope,
    tariff_id: int,
    payer_kind: str,
    period: tuple[datetime, datetime],
    spans: list[tuple[int, datetime, datetime]],
    current: Sequence[Rate],
    proposed: Sequence[Rate],
) -> sa.Select[Any]:
    usage = _usage(
        scope,
        tariff_id,
        payer_kind,
        UsageRecord.occurred_at >= period[0],
        UsageRecord.occurred_at < period[1],
    )
    versions = _table(
        "versions",
        {
            "id": ([i for i, _, _ in spans], sa.BigInteger),
            "starts": ([s for _, s, _ in spans], sa.DateTime(True)),
            "ends": ([e for _, _, e in spans], sa.DateTime(True)),
        },
    )
    now, new = _rates("now", current), _rates("new", proposed)
    quantity = rating_sql.millionths(usage.c.quantity)

    def total(rate: Any) -> sa.ColumnElement[Decimal]:
        price = rating_sql.charge_millionths(
            quantity, rate.unit_price, rate.increment, rate.minimum, rate.units
        )
        in_millionths = sa.func.coalesce(sa.func.sum(price), 0)
        return in_millionths * sa.literal(Decimal("0.000001"), sa.Numeric)

    return (
        sa.select(usage.c.payer_id, total(now.c), total(new.c))
        .select_from(usage)
        .join(
            versions,
            sa.and_(
                versions.c.starts <= usage.c.occurred_at, usage.c.occurred_at < versions.c.ends
            ),
        )
        .outerjoin(now, sa.and_(now.c.version_id == versions.c.id, now.c.kind == usage.c.kind))
        .outerjoin(new, new.c.kind == usage.c.kind)
        .group_by(usage.c.payer_id)
    )

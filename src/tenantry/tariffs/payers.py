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
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.auth.scope import Scope
from tenantry.customers.models import Customer
from tenantry.ledger.limits import MAX_QUANTITY
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
        UsageRecord.kind,
        UsageRecord.quantity,
        UsageRecord.occurred_at,
    ).where(UsageRecord.customer_id.in_(customers), *where)
    payer, below = aliased(Tenant), aliased(Tenant)
    by_tenants = (
        sa.select(
            payer.id.label("payer_id"),
            UsageRecord.kind,
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


async def versions_and_rates(
    session: AsyncSession, tariff_id: int, period: tuple[datetime, datetime]
) -> tuple[list[tuple[int, datetime, datetime]], list[Rate]]:
    """The part of the period each of the tariff's versions was in force (id, from, to;
    versions not in force during it left out), and every version's rates."""
    spans = version_spans(TariffVersion.tariff_id == tariff_id)
    lower = sa.func.greatest(spans.c.starts, period[0])
    upper = sa.func.least(spans.c.ends, period[1])
    found = (await session.execute(sa.select(spans.c.id, lower, upper).where(lower < upper))).all()
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
    payer_kinds: Sequence[str] = (CUSTOMER, TENANT),
) -> list[PayerSums]:
    """Per visible payer with usage in [since, until): what that usage cost by the tariff
    (each record by the version in force when it occurred) and what it would have cost by
    the proposed rates, to the millionth like the ledger. One statement per kind of payer
    asked for (customers, sub-tenants), each reading every record once; the tariff's
    versions are read first."""
    spans, current = await versions_and_rates(session, tariff_id, (since, until))
    sums = []
    for payer_kind in payer_kinds:
        stmt = preview_statement(scope, tariff_id, payer_kind, spans, current, proposed)
        sums += [
            PayerSums(payer_kind, payer_id, now or Decimal(0), new or Decimal(0))
            for payer_id, now, new in (await session.execute(stmt)).all()
        ]
    return sums


# Each record priced in integers. Its charge in millionths is (steps * p + D/2) div D,
# rounded half up once as rating.charge does: steps is the billable quantity over the
# increment, rounded up; p = increment * unit price (in 10^-12) and D = units * 10^6. That
# is a bigint expression when the largest record limits.py allows cannot overflow it; else,
# with p = qd * D + pr (0 <= pr < D) and steps = k * D + s (0 <= s < D), the same value is
# qd * steps + pr * k + (s * pr + D/2) div D, no term of which is larger than the charge
# itself (or D^2 < 3.6 * 10^15). Only a rate whose largest charge passes bigint is priced
# in numeric. PostgreSQL sums bigints exactly (in numeric), so the sums are exact too.
_BIGINT = 2**63 - 1
_MAX_QUANTITY = int(MAX_QUANTITY) * rating_sql.MILLION


def _big(value: int) -> sa.ColumnElement[int]:
    return sa.literal(value, sa.BigInteger)


def _record_charge(rate: Rate, quantity: sa.ColumnElement[int]) -> sa.ColumnElement[Any]:
    """One record's charge in millionths by ``rate``, from its quantity in millionths (not
    zero)."""
    billed = (
        quantity
        if rate.minimum == 0
        else sa.func.greatest(_big(rate.minimum), quantity, type_=sa.BigInteger)
    )
    # Integer division of non-negative bigints: rounded up by adding increment - 1.
    steps = (
        billed
        if rate.increment == 1
        else (billed + _big(rate.increment - 1)) // _big(rate.increment)
    )
    most = -(-max(_MAX_QUANTITY, rate.minimum) // rate.increment)
    product, units = rate.increment * rate.unit_price, rate.units * rating_sql.MILLION
    whole, remainder = divmod(product, units)
    half = _big(units // 2)
    if remainder == 0 and most * whole <= _BIGINT:  # the usual case: nothing to round
        return steps * _big(whole)
    if most * product + units // 2 <= _BIGINT:
        return (steps * _big(product) + half) // _big(units)
    if most * whole + most // units * remainder + remainder <= _BIGINT:
        rounded = (steps % _big(units) * _big(remainder) + half) // _big(units)
        return steps * _big(whole) + steps // _big(units) * _big(remainder) + rounded
    exact = sa.cast(steps, sa.Numeric) * sa.literal(product, sa.Numeric) + half
    return sa.func.div(exact, sa.literal(units, sa.Numeric))


def _charge(
    kind: sa.ColumnElement[Any], quantity: sa.ColumnElement[int], rates: Sequence[Rate]
) -> sa.ColumnElement[Any]:
    """What a payer's records cost by ``rates`` (one per kind), in millionths: a sum over
    them of each one's charge, null for the kinds without a rate (free)."""
    if not rates:
        return sa.cast(sa.null(), sa.Numeric)
    charges = [(kind == UsageKind(r.kind), _record_charge(r, quantity)) for r in rates]
    return sa.func.sum(sa.case(*charges))


def preview_statement(  # noqa: PLR0917 (the statement's parts, built by one caller)
    scope: Scope,
    tariff_id: int,
    payer_kind: str,
    spans: list[tuple[int, datetime, datetime]],
    current: Sequence[Rate],
    proposed: Sequence[Rate],
) -> sa.Select[Any]:
    """(payer_id, current, proposed) per payer of ``payer_kind`` with usage in the spans.

    One branch per version, over its part of the period (``spans``, which cover it), so
    each record is read once and every rate is a constant of the statement: a record is
    priced by integer arithmetic on its quantity in millionths, chosen by its kind, and
    the charges are summed per payer. The branches may be read in parallel."""
    branches = []
    for version_id, lower, upper in spans:
        usage = _usage(
            scope,
            tariff_id,
            payer_kind,
            UsageRecord.occurred_at >= lower,
            UsageRecord.occurred_at < upper,
            UsageRecord.quantity > 0,  # a record of nothing costs nothing at any rate
        )
        quantity = rating_sql.millionths(usage.c.quantity)
        in_force = [r for r in current if r.version_id == version_id]
        branches.append(
            sa.select(
                usage.c.payer_id,
                _charge(usage.c.kind, quantity, in_force).label("now"),
                _charge(usage.c.kind, quantity, proposed).label("new"),
            ).group_by(usage.c.payer_id)
        )
    # The versions' spans cover all time (the first one also prices what came before it),
    # so a period meets at least one.
    priced = sa.union_all(*branches).subquery("priced")
    millionth = sa.literal(Decimal("0.000001"), sa.Numeric)
    return sa.select(
        priced.c.payer_id,
        sa.func.sum(priced.c.now) * millionth,
        sa.func.sum(priced.c.new) * millionth,
    ).group_by(priced.c.payer_id)

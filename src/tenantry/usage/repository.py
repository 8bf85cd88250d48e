"""All SQL about usage: bulk ingestion, and sums for any range, done in the database."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.db.paging import any_of
from tenantry.tenants.models import Tenant
from tenantry.usage.models import UsageCharge, UsageRecord


@dataclass(frozen=True)
class RatingTarget:
    """What rating one endpoint's usage needs to know."""

    endpoint_id: int
    tenant_id: int
    customer_id: int
    customer_tariff_id: int | None
    customer_account_id: int


async def rating_targets(
    session: AsyncSession, endpoint_ids: Sequence[int]
) -> dict[int, RatingTarget]:
    # Unscoped: usage is ingested by platform admins, who see every tenant.
    stmt = (
        sa.select(
            Endpoint.id, Endpoint.tenant_id, Customer.id, Customer.tariff_id, Customer.account_id
        )
        .join(Customer, Customer.id == Endpoint.customer_id)
        .where(any_of(Endpoint.id, endpoint_ids))
    )
    return {row[0]: RatingTarget(*row) for row in (await session.execute(stmt)).all()}


async def tenants_on_paths(session: AsyncSession, tenant_ids: Sequence[int]) -> dict[int, Tenant]:
    paths = sa.select(sa.func.unnest(Tenant.path)).where(any_of(Tenant.id, tenant_ids))
    rows = await session.scalars(sa.select(Tenant).where(Tenant.id.in_(paths)))
    return {t.id: t for t in rows.all()}


_INSERT_RECORDS = sa.text(
    """
    INSERT INTO usage_records
        (tenant_id, customer_id, endpoint_id, kind, quantity, occurred_at, event_id)
    SELECT * FROM unnest(
        CAST(:tenant_ids AS bigint[]), CAST(:customer_ids AS bigint[]),
        CAST(:endpoint_ids AS bigint[]), CAST(:kinds AS varchar[]),
        CAST(:quantities AS numeric[]), CAST(:occurred AS timestamptz[]),
        CAST(:event_ids AS varchar[])
    )
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id
    """
)


async def insert_records(session: AsyncSession, rows: Sequence[UsageRecord]) -> dict[str, int]:
    """Insert, skipping event ids already recorded; returns the new ids by event id."""
    result = await session.execute(
        _INSERT_RECORDS,
        {
            "tenant_ids": [r.tenant_id for r in rows],
            "customer_ids": [r.customer_id for r in rows],
            "endpoint_ids": [r.endpoint_id for r in rows],
            "kinds": [r.kind.value for r in rows],
            "quantities": [r.quantity for r in rows],
            "occurred": [r.occurred_at for r in rows],
            "event_ids": [r.event_id for r in rows],
        },
    )
    return {event_id: record_id for record_id, event_id in result.all()}


_INSERT_CHARGES = sa.text(
    """
    INSERT INTO usage_charges
        (usage_record_id, level, tenant_id, payer_tenant_id, payer_customer_id,
         record_tenant_id, endpoint_id, kind, occurred_at, currency, amount)
    SELECT * FROM unnest(
        CAST(:record_ids AS bigint[]), CAST(:levels AS smallint[]), CAST(:payees AS bigint[]),
        CAST(:payer_tenants AS bigint[]), CAST(:payer_customers AS bigint[]),
        CAST(:record_tenants AS bigint[]), CAST(:endpoint_ids AS bigint[]),
        CAST(:kinds AS varchar[]), CAST(:occurred AS timestamptz[]),
        CAST(:currencies AS varchar[]), CAST(:amounts AS numeric[])
    )
    """
)


async def insert_charges(session: AsyncSession, rows: Sequence[UsageCharge]) -> None:
    if not rows:
        return
    await session.execute(
        _INSERT_CHARGES,
        {
            "record_ids": [c.usage_record_id for c in rows],
            "levels": [c.level for c in rows],
            "payees": [c.tenant_id for c in rows],
            "payer_tenants": [c.payer_tenant_id for c in rows],
            "payer_customers": [c.payer_customer_id for c in rows],
            "record_tenants": [c.record_tenant_id for c in rows],
            "endpoint_ids": [c.endpoint_id for c in rows],
            "kinds": [c.kind.value for c in rows],
            "occurred": [c.occurred_at for c in rows],
            "currencies": [c.currency for c in rows],
            "amounts": [c.amount for c in rows],
        },
    )


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    def of(
        self, column: sa.ColumnElement[datetime] | InstrumentedAttribute[datetime]
    ) -> sa.ColumnElement[bool]:
        return sa.and_(column >= self.since, column < self.until)


# (owner id, kind) -> sum
Sums = dict[tuple[int, str], Decimal]


async def grouped_sums(
    session: AsyncSession,
    *,
    owner: InstrumentedAttribute[Any],
    value: InstrumentedAttribute[Decimal],
    kind: InstrumentedAttribute[Any],
    owner_ids: Sequence[int],
    window: Window,
    time: InstrumentedAttribute[datetime],
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> Sums:
    """``sum(value)`` per (owner, kind) in the window: one indexed statement for all owners."""
    stmt = (
        sa.select(owner, kind, sa.func.sum(value))
        .where(any_of(owner, owner_ids), window.of(time), *where)
        .group_by(owner, kind)
    )
    return {(o, str(k)): total for o, k, total in (await session.execute(stmt)).all()}


_SUBTREE_QUANTITIES = sa.text(
    """
    SELECT o.id, r.kind, sum(r.quantity)
    FROM unnest(CAST(:ids AS bigint[])) AS o(id)
    JOIN tenants d ON d.path @> ARRAY[o.id]
    JOIN usage_records r
      ON r.tenant_id = d.id AND r.occurred_at >= :since AND r.occurred_at < :until
    GROUP BY o.id, r.kind
    """
)


async def subtree_quantities(
    session: AsyncSession, tenant_ids: Sequence[int], window: Window
) -> Sums:
    """Quantity per kind at each tenant's endpoints and all endpoints below it."""
    result = await session.execute(
        _SUBTREE_QUANTITIES, {"ids": list(tenant_ids), "since": window.since, "until": window.until}
    )
    return {(o, str(k)): total for o, k, total in result.all()}


@dataclass(frozen=True)
class EndpointUsageRow:
    endpoint_id: int
    kind: str
    quantity: Decimal
    cost: Decimal
    currency: str | None


async def endpoint_rows(
    session: AsyncSession,
    records_where: sa.ColumnElement[bool],
    charges_where: sa.ColumnElement[bool],
    window: Window,
    page: PageRequest,
) -> Page[EndpointUsageRow]:
    """Usage per endpoint and kind, with what the viewer paid for it, keyset-paged by
    (endpoint, kind) encoded as one integer (see ``row_key``)."""
    quantities = (
        sa.select(
            UsageRecord.endpoint_id.label("endpoint_id"),
            UsageRecord.kind.label("kind"),
            sa.func.sum(UsageRecord.quantity).label("quantity"),
        )
        .where(records_where, window.of(UsageRecord.occurred_at))
        .group_by(UsageRecord.endpoint_id, UsageRecord.kind)
        .subquery()
    )
    costs = (
        sa.select(
            UsageCharge.endpoint_id.label("endpoint_id"),
            UsageCharge.kind.label("kind"),
            sa.func.sum(UsageCharge.amount).label("cost"),
            sa.func.min(UsageCharge.currency).label("currency"),
        )
        .where(charges_where, window.of(UsageCharge.occurred_at))
        .group_by(UsageCharge.endpoint_id, UsageCharge.kind)
        .subquery()
    )
    key = quantities.c.endpoint_id * len(KIND_ORDER) + sa.func.array_position(
        sa.cast(sa.literal(KIND_ORDER), sa.ARRAY(sa.String)), sa.cast(quantities.c.kind, sa.String)
    )
    stmt = (
        sa.select(
            quantities.c.endpoint_id,
            quantities.c.kind,
            quantities.c.quantity,
            costs.c.cost,
            costs.c.currency,
        )
        .outerjoin(
            costs,
            sa.and_(
                costs.c.endpoint_id == quantities.c.endpoint_id, costs.c.kind == quantities.c.kind
            ),
        )
        .order_by(key)
        .limit(page.first + 1)
    )
    if page.after is not None:
        stmt = stmt.where(key > page.after)
    rows = [
        EndpointUsageRow(e, str(k), q, c if c is not None else Decimal(0), cur)
        for e, k, q, c, cur in (await session.execute(stmt)).all()
    ]
    return Page(rows[: page.first], has_next=len(rows) > page.first)


# Keys of endpoint usage rows: endpoint id * 3 + position of the kind (1-based) in this list.
KIND_ORDER = ["DATA", "SMS", "VOICE"]


def row_key(row: EndpointUsageRow) -> int:
    return row.endpoint_id * len(KIND_ORDER) + KIND_ORDER.index(row.kind) + 1


@dataclass(frozen=True)
class UsageOwner:
    """Whose usage: a tenant (with or without its subtree), a customer, or an endpoint."""

    kind: str  # "tenant" | "customer" | "endpoint"
    id: int
    subtree: bool = False


def owner_filters(owner: UsageOwner) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """(which records, which charges are the owner's cost) for per-endpoint rows."""
    if owner.kind == "customer":
        return UsageRecord.customer_id == owner.id, UsageCharge.payer_customer_id == owner.id
    if owner.kind == "endpoint":
        return UsageRecord.endpoint_id == owner.id, sa.and_(
            UsageCharge.endpoint_id == owner.id, UsageCharge.level == 0
        )
    if owner.subtree:
        below = sa.select(Tenant.id).where(
            Tenant.path.contains(sa.literal([owner.id], Tenant.path.type))
        )
        return UsageRecord.tenant_id.in_(below), UsageCharge.payer_tenant_id == owner.id
    return UsageRecord.tenant_id == owner.id, sa.and_(
        UsageCharge.payer_tenant_id == owner.id, UsageCharge.record_tenant_id == owner.id
    )


async def _record_sums(
    session: AsyncSession,
    owner: InstrumentedAttribute[Any],
    ids: Sequence[int],
    window: Window,
) -> Sums:
    return await grouped_sums(
        session,
        owner=owner,
        value=UsageRecord.quantity,
        kind=UsageRecord.kind,
        owner_ids=ids,
        window=window,
        time=UsageRecord.occurred_at,
    )


async def _charge_sums(
    session: AsyncSession,
    owner: InstrumentedAttribute[Any],
    ids: Sequence[int],
    window: Window,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> Sums:
    return await grouped_sums(
        session,
        owner=owner,
        value=UsageCharge.amount,
        kind=UsageCharge.kind,
        owner_ids=ids,
        window=window,
        time=UsageCharge.occurred_at,
        where=where,
    )


async def totals(
    session: AsyncSession, kind: str, ids: Sequence[int], window: Window, *, subtree: bool
) -> tuple[Sums, Sums, Sums]:
    """(quantities, costs, revenues) per (owner, usage kind) for owners of one kind."""
    if kind == "customer":
        return (
            await _record_sums(session, UsageRecord.customer_id, ids, window),
            await _charge_sums(session, UsageCharge.payer_customer_id, ids, window),
            {},
        )
    if kind == "endpoint":
        return (
            await _record_sums(session, UsageRecord.endpoint_id, ids, window),
            await _charge_sums(
                session, UsageCharge.endpoint_id, ids, window, [UsageCharge.level == 0]
            ),
            {},
        )
    if subtree:
        quantities = await subtree_quantities(session, ids, window)
        own_cost: list[sa.ColumnElement[bool]] = []
        own_revenue: list[sa.ColumnElement[bool]] = []
    else:
        quantities = await _record_sums(session, UsageRecord.tenant_id, ids, window)
        own_cost = [UsageCharge.record_tenant_id == UsageCharge.payer_tenant_id]
        own_revenue = [UsageCharge.record_tenant_id == UsageCharge.tenant_id]
    costs = await _charge_sums(session, UsageCharge.payer_tenant_id, ids, window, own_cost)
    revenues = await _charge_sums(session, UsageCharge.tenant_id, ids, window, own_revenue)
    return quantities, costs, revenues

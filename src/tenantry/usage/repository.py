"""All SQL about usage: bulk ingestion, and sums for any range, done in the database."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.db.paging import any_of
from tenantry.tenants.models import Tenant, TenantPlacement
from tenantry.usage.models import UsageRecord


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


# Charges differ in length per record (one per level), and unnest flattens arrays of
# arrays, so each record's charges travel as one array literal and are cast back.
_INSERT_RECORDS = """
    INSERT INTO {table}
        (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges, occurred_at, event_id)
    SELECT t, c, e, k, q, d, CAST(ch AS numeric[]), o, ev FROM unnest(
        CAST(:tenant_ids AS bigint[]), CAST(:customer_ids AS bigint[]),
        CAST(:endpoint_ids AS bigint[]), CAST(:kinds AS varchar[]),
        CAST(:quantities AS numeric[]), CAST(:depths AS smallint[]), CAST(:charges AS text[]),
        CAST(:occurred AS timestamptz[]), CAST(:event_ids AS varchar[])
    ) AS u(t, c, e, k, q, d, ch, o, ev)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id
    """


async def insert_records(session: AsyncSession, rows: Sequence[UsageRecord]) -> dict[str, int]:
    """Insert, skipping event ids already recorded; returns the new ids by event id."""
    return await insert_records_into(session, rows, "usage_records")


async def insert_records_into(
    session: AsyncSession, rows: Sequence[UsageRecord], table: str
) -> dict[str, int]:
    """``insert_records`` into a table of the same shape (the benchmark's baseline uses it)."""
    result = await session.execute(
        sa.text(_INSERT_RECORDS.format(table=table)),
        {
            "tenant_ids": [r.tenant_id for r in rows],
            "customer_ids": [r.customer_id for r in rows],
            "endpoint_ids": [r.endpoint_id for r in rows],
            "kinds": [r.kind.value for r in rows],
            "quantities": [r.quantity for r in rows],
            "depths": [r.depth for r in rows],
            "charges": ["{" + ",".join(str(c) for c in r.charges) + "}" for r in rows],
            "occurred": [r.occurred_at for r in rows],
            "event_ids": [r.event_id for r in rows],
        },
    )
    return {event_id: record_id for record_id, event_id in result.all()}


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    def of(
        self, column: sa.ColumnElement[datetime] | InstrumentedAttribute[datetime]
    ) -> sa.ColumnElement[bool]:
        return sa.and_(column >= self.since, column < self.until)


@dataclass(frozen=True)
class UsageOwner:
    """Whose usage: a tenant (at ``depth``, with or without its subtree), a customer, or an
    endpoint. What an owner was charged and earned depends on where it sits (see models)."""

    kind: str  # "tenant" | "customer" | "endpoint"
    id: int
    subtree: bool = False
    depth: int = 0


@dataclass(frozen=True)
class Sums:
    quantity: Decimal
    cost: Decimal
    revenue: Decimal


def _charges_at(
    level: sa.ColumnElement[int] | None,
) -> tuple[sa.ColumnElement[Decimal], sa.ColumnElement[Decimal]]:
    """What the owner paid and earned for one record. For a tenant at depth ``level`` on the
    path the record was rated up: it paid ``charges[depth - level + 2]`` (array index + 1)
    and earned ``charges[depth - level + 1]``; a customer or endpoint (None) paid level 0."""
    charges, depth = UsageRecord.charges, UsageRecord.depth
    if level is None:
        return sa.func.coalesce(charges[1], 0), sa.literal(Decimal(0))
    return (
        sa.func.coalesce(charges[depth - level + 2], 0),
        sa.func.coalesce(charges[depth - level + 1], 0),
    )


@dataclass(frozen=True)
class _Part:
    """Records rated under an owner tenant: joined on ``condition`` (with ``table``, if any),
    the owner at depth ``level`` on the path each was rated up."""

    condition: sa.ColumnElement[bool]
    table: sa.FromClause | None
    level: sa.ColumnElement[int]


def _tenant_parts(
    owner_id: sa.ColumnElement[int], owner_depth: sa.ColumnElement[int], subtree: bool
) -> list[_Part]:
    """The records rated under a tenant, in parts to UNION ALL (they never overlap).

    Its own endpoints' records (it is last on the path each was rated up). With its subtree:
    the records of the tenants below it now, rated since their last move (up their current
    path, so the owner is at its current depth); and the records rated before a move up a
    path through the owner (``tenant_placements``: GIN on the path, then the tenant's
    records in an id range), at the owner's place on that path.
    """
    if not subtree:
        # The owner is last on the path of each of its own records: at the record's depth.
        own = sa.cast(UsageRecord.depth, sa.SmallInteger)
        return [_Part(UsageRecord.tenant_id == owner_id, None, own)]
    below = sa.orm.aliased(Tenant)
    current = sa.and_(
        below.path.contains(pg_array([owner_id])),
        UsageRecord.tenant_id == below.id,
        UsageRecord.id > below.placed_after_record_id,
    )
    placed = sa.orm.aliased(TenantPlacement)
    before_a_move = sa.and_(
        placed.path.contains(pg_array([owner_id])),
        UsageRecord.tenant_id == placed.tenant_id,
        UsageRecord.id > placed.records_after,
        UsageRecord.id <= placed.records_through,
    )
    return [
        _Part(current, sa.inspect(below).selectable, owner_depth),
        _Part(
            before_a_move,
            sa.inspect(placed).selectable,
            sa.func.array_position(placed.path, owner_id) - 1,
        ),
    ]


async def totals(
    session: AsyncSession, owners: Sequence[UsageOwner], window: Window
) -> dict[tuple[UsageOwner, str], Sums]:
    """Quantity, cost and revenue per (owner, usage kind); one statement for owners that
    share a kind and a subtree flag, however many there are."""
    if not owners:
        return {}
    first = owners[0]
    ids = (
        sa.func.unnest(
            sa.cast(sa.literal([o.id for o in owners]), ARRAY(sa.BigInteger)),
            sa.cast(sa.literal([o.depth for o in owners]), ARRAY(sa.SmallInteger)),
        )
        .table_valued("id", "depth")
        .render_derived(name="o", with_types=False)
    )
    parts: list[sa.Select[Any]] = []
    if first.kind == "tenant":
        for part in _tenant_parts(ids.c.id, ids.c.depth, first.subtree):
            source = ids if part.table is None else ids.join(part.table, sa.true())
            parts.append(
                sa.select(
                    ids.c.id, UsageRecord.kind, UsageRecord.quantity, *_charges_at(part.level)
                )
                .select_from(source)
                .join(UsageRecord, part.condition)
                .where(window.of(UsageRecord.occurred_at))
            )
    else:
        column = UsageRecord.customer_id if first.kind == "customer" else UsageRecord.endpoint_id
        parts.append(
            sa.select(ids.c.id, UsageRecord.kind, UsageRecord.quantity, *_charges_at(None))
            .select_from(ids)
            .join(UsageRecord, column == ids.c.id)
            .where(window.of(UsageRecord.occurred_at))
        )
    rated = sa.union_all(*parts).subquery("rated")
    owner_id, kind, quantity, cost_col, revenue_col = rated.c
    stmt = sa.select(
        owner_id,
        kind,
        sa.func.sum(quantity),
        sa.func.coalesce(sa.func.sum(cost_col), 0),
        sa.func.coalesce(sa.func.sum(revenue_col), 0),
    ).group_by(owner_id, kind)
    by_id = {o.id: o for o in owners}
    return {
        (by_id[oid], str(k)): Sums(q, cost_sum, revenue_sum)
        for oid, k, q, cost_sum, revenue_sum in (await session.execute(stmt)).all()
    }


def records_with_cost(owner: UsageOwner, window: Window) -> sa.Subquery:
    """The owner's records in the window (``endpoint_id``, ``kind``, ``quantity``,
    ``cost``: what the owner paid for each), for per-endpoint sums (reads and reports)."""
    parts: list[tuple[sa.ColumnElement[bool], sa.FromClause | None, sa.ColumnElement[Decimal]]]
    if owner.kind != "tenant":
        column = UsageRecord.customer_id if owner.kind == "customer" else UsageRecord.endpoint_id
        parts = [(column == owner.id, None, _charges_at(None)[0])]
    else:
        owner_id = sa.literal(owner.id, sa.BigInteger)
        depth = sa.literal(owner.depth, sa.SmallInteger)
        parts = [
            (part.condition, part.table, _charges_at(part.level)[0])
            for part in _tenant_parts(owner_id, depth, owner.subtree)
        ]
    selects = []
    for condition, table, cost in parts:
        stmt = sa.select(
            UsageRecord.endpoint_id, UsageRecord.kind, UsageRecord.quantity, cost.label("cost")
        )
        stmt = stmt.where(condition) if table is None else stmt.select_from(table).where(condition)
        selects.append(stmt.where(window.of(UsageRecord.occurred_at)))
    return sa.union_all(*selects).subquery("rated")


@dataclass(frozen=True)
class EndpointUsageRow:
    endpoint_id: int
    kind: str
    quantity: Decimal
    cost: Decimal


# Keys of endpoint usage rows: endpoint id * 3 + position of the kind (1-based) in this list.
KIND_ORDER = ["DATA", "SMS", "VOICE"]


def row_key(row: EndpointUsageRow) -> int:
    return row.endpoint_id * len(KIND_ORDER) + KIND_ORDER.index(row.kind) + 1


async def endpoint_rows(
    session: AsyncSession, owner: UsageOwner, window: Window, page: PageRequest
) -> Page[EndpointUsageRow]:
    """Usage per endpoint and kind with what the owner paid for it, keyset-paged by ``row_key``."""
    rated = records_with_cost(owner, window)
    position = sa.func.array_position(
        sa.cast(sa.literal(KIND_ORDER), ARRAY(sa.String)), sa.cast(rated.c.kind, sa.String)
    )
    key = rated.c.endpoint_id * len(KIND_ORDER) + position
    stmt = (
        sa.select(
            rated.c.endpoint_id,
            rated.c.kind,
            sa.func.sum(rated.c.quantity),
            sa.func.coalesce(sa.func.sum(rated.c.cost), 0),
        )
        .group_by(rated.c.endpoint_id, rated.c.kind)
        .order_by(sa.func.min(key))
        .limit(page.first + 1)
    )
    if page.after is not None:
        stmt = stmt.having(sa.func.min(key) > page.after)
    rows = [EndpointUsageRow(e, str(k), q, c) for e, k, q, c in (await session.execute(stmt)).all()]
    return Page(rows[: page.first], has_next=len(rows) > page.first)


async def last_record_id(session: AsyncSession) -> int:
    """The highest usage record id so far (0 for none): one look at the primary key."""
    return int(
        await session.scalar(sa.select(sa.func.coalesce(sa.func.max(UsageRecord.id), 0))) or 0
    )

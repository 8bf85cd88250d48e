"""All SQL about usage: bulk ingestion, and sums for any range, done in the database."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.db.paging import any_of
from tenantry.usage import queries
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


async def totals(
    session: AsyncSession, owners: Sequence[UsageOwner], window: Window
) -> dict[tuple[UsageOwner, str], Sums]:
    """Quantity, cost and revenue per (owner, usage kind); one statement for owners that
    share a kind and a subtree flag, however many there are (``queries.tenant_totals``
    per owner, laterally)."""
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
    if first.kind == "tenant":
        per_owner = queries.tenant_totals(
            ids.c.id,
            ids.c.depth,
            window.since,
            window.until,
            include_descendants=first.subtree,
        )
    else:
        per_owner = queries.owner_totals(first.kind, ids.c.id, window.since, window.until)
    sums = per_owner.lateral("s")
    stmt = sa.select(
        ids.c.id, sums.c.kind, sums.c.quantity, sums.c.cost, sums.c.revenue
    ).select_from(ids.join(sums, sa.true()))
    by_id = {o.id: o for o in owners}
    return {
        (by_id[owner_id], str(kind)): Sums(quantity, cost_sum, revenue_sum)
        for owner_id, kind, quantity, cost_sum, revenue_sum in (await session.execute(stmt)).all()
    }


@dataclass(frozen=True)
class EndpointUsageRow:
    endpoint_id: int
    kind: str
    quantity: Decimal
    cost: Decimal


KIND_ORDER = queries.KIND_ORDER


def row_key(row: EndpointUsageRow) -> int:
    return row.endpoint_id * len(KIND_ORDER) + KIND_ORDER.index(row.kind) + 1


async def endpoint_rows(
    session: AsyncSession, owner: UsageOwner, window: Window, page: PageRequest
) -> Page[EndpointUsageRow]:
    """Usage per endpoint and kind with what the owner paid for it, keyset-paged by ``row_key``."""
    depth = sa.literal(owner.depth, sa.SmallInteger) if owner.kind == "tenant" else None
    stmt = queries.endpoint_rows(
        queries.records_of(owner.kind, owner.id, subtree=owner.subtree),
        depth,
        window.since,
        window.until,
        after=page.after,
        limit=page.first + 1,
    )
    rows = [
        EndpointUsageRow(e, str(k), q, c) for e, k, q, c, _ in (await session.execute(stmt)).all()
    ]
    return Page(rows[: page.first], has_next=len(rows) > page.first)

"""All SQL about usage: bulk ingestion, and sums for any range, done in the database."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.db.paging import any_of
from tenantry.tariffs.models import UNITS_PER_PRICE, TariffRate, TariffVersion, UsageKind
from tenantry.tariffs.repository import version_spans
from tenantry.usage import queries, rating_sql
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


def _unnest(name: str, columns: dict[str, tuple[list[Any], Any]]) -> Any:
    """Arrays as a table (one bound array per column), rows numbered from 1 in ``n``."""
    arrays = [sa.bindparam(f"{name}_{c}", v, type_=ARRAY(t)) for c, (v, t) in columns.items()]
    return (
        sa.func.unnest(*arrays)
        .table_valued(*columns, with_ordinality="n")
        .render_derived(name=name, with_types=False)
    )


class Usage(Protocol):
    """What rating a record reads: where, what, how much, when."""

    @property
    def endpoint_id(self) -> int: ...
    @property
    def kind(self) -> UsageKind: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def occurred_at(self) -> datetime: ...


async def charges_in_force(
    session: AsyncSession,
    records: Sequence[Usage],
    tariffs: dict[int, list[int | None]],
) -> list[list[Decimal]]:
    """Each record's charge at each level (``tariffs``: per endpoint, the tariff each level
    pays by, None where it pays nothing), in one statement: the rates of the version in
    force when it occurred (``version_spans``), priced by ``rating_sql.charge_millionths``
    (``rating.charge`` exactly: half-up at 6 places, once). A level whose tariff does not
    price the kind is free. In the records' order."""
    if not records:
        return []
    batch = _unnest(
        "batch",
        {
            "endpoint_id": ([r.endpoint_id for r in records], sa.BigInteger),
            "kind": ([r.kind.value for r in records], sa.String),
            "quantity": ([r.quantity for r in records], sa.Numeric),
            "at": ([r.occurred_at for r in records], sa.DateTime(True)),
        },
    )
    lines = [(e, n, t) for e, levels in tariffs.items() for n, t in enumerate(levels)]
    level = _unnest(
        "level",
        {
            "endpoint_id": ([e for e, _, _ in lines], sa.BigInteger),
            "level": ([n for _, n, _ in lines], sa.Integer),
            "tariff_id": ([t for _, _, t in lines], sa.BigInteger),
        },
    )
    spans = version_spans(any_of(TariffVersion.tariff_id, {t for *_, t in lines if t}))
    units = sa.case({k.value: u for k, u in UNITS_PER_PRICE.items()}, value=batch.c.kind)
    rate = TariffRate.__table__.c
    millionths = rating_sql.charge_millionths(
        rating_sql.millionths(batch.c.quantity),
        rating_sql.millionths(rate.unit_price),
        rating_sql.millionths(rate.increment),
        rating_sql.millionths(rate.minimum),
        units,
    )
    amount = sa.func.coalesce(millionths, 0) * sa.literal(Decimal("0.000001"), sa.Numeric)
    stmt = (
        sa.select(sa.func.array_agg(amount).aggregate_order_by(level.c.level))
        .select_from(batch)
        .join(level, level.c.endpoint_id == batch.c.endpoint_id)
        .outerjoin(
            spans,
            sa.and_(
                spans.c.tariff_id == level.c.tariff_id,
                spans.c.starts <= batch.c.at,
                batch.c.at < spans.c.ends,
            ),
        )
        .outerjoin(
            TariffRate,
            sa.and_(
                TariffRate.version_id == spans.c.id,
                sa.cast(TariffRate.kind, sa.String) == batch.c.kind,
            ),
        )
        .group_by(batch.c.n)
        .order_by(batch.c.n)
    )
    return [list(charges) for charges in (await session.scalars(stmt)).all()]


# Charges differ in length per record (one per level), and unnest flattens arrays of
# arrays, so each record's charges travel as one array literal and are cast back. The event
# ids are claimed first, in the batch's order (sorted by the caller, so that concurrent
# batches sharing event ids take their locks in one order); only records whose event id
# this statement claimed are inserted.
_INSERT_RECORDS = sa.text(
    """
    WITH batch AS (
        SELECT * FROM unnest(
            CAST(:tenant_ids AS bigint[]), CAST(:customer_ids AS bigint[]),
            CAST(:endpoint_ids AS bigint[]), CAST(:kinds AS varchar[]),
            CAST(:quantities AS numeric[]), CAST(:depths AS smallint[]),
            CAST(:charges AS text[]), CAST(:occurred AS timestamptz[]),
            CAST(:event_ids AS varchar[])
        ) WITH ORDINALITY AS u(t, c, e, k, q, d, ch, o, ev, n)
    ), claimed AS (
        INSERT INTO usage_event_ids (event_id, tenant_id, occurred_at)
        SELECT ev, t, o FROM batch ORDER BY n
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
    )
    INSERT INTO usage_records
        (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges, occurred_at, event_id)
    SELECT t, c, e, k, q, d, CAST(ch AS numeric[]), o, ev
    FROM batch JOIN claimed ON claimed.event_id = batch.ev
    ORDER BY n
    RETURNING id, event_id
    """
)


@dataclass(slots=True)
class RatedRecord:
    """A usage record ready to insert: its owners, and each level's charge (see models)."""

    tenant_id: int
    customer_id: int
    endpoint_id: int
    kind: UsageKind
    quantity: Decimal
    depth: int
    charges: list[Decimal]
    occurred_at: datetime
    event_id: str


async def insert_records(session: AsyncSession, rows: Sequence[RatedRecord]) -> dict[str, int]:
    """Insert, skipping event ids already recorded; returns the new ids by event id.

    The months' partitions must exist (``ensure_partitions``).
    """
    result = await session.execute(
        _INSERT_RECORDS,
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


def month_of(at: datetime) -> datetime:
    """The first instant (UTC) of the month ``at`` falls in: its partition's lower bound."""
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def ensure_partitions(session: AsyncSession, months: Iterable[datetime]) -> None:
    """Create (and attach) the partitions of these months that do not exist yet, in one
    statement; a month whose partition exists costs a catalog look-up. See migration 0013:
    concurrent creators of one partition wait for each other and create it once."""
    await session.execute(
        sa.text("SELECT usage_records_partition(m) FROM unnest(CAST(:months AS timestamptz[])) m"),
        {"months": sorted({month_of(m) for m in months})},
    )


@dataclass(frozen=True)
class Partition:
    name: str
    month: datetime  # its lower bound; the upper is a month later


_PARTITION_NAME = re.compile(r"usage_records_y(\d{4})m(\d{2})")


async def attached_partitions(session: AsyncSession) -> list[Partition]:
    """usage_records' monthly partitions, oldest first."""
    stmt = sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST('usage_records' AS regclass)"
    )
    found = []
    for (name,) in (await session.execute(stmt)).all():
        if match := _PARTITION_NAME.fullmatch(name):
            month = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
            found.append(Partition(name, month))
    return sorted(found, key=lambda p: p.month)


async def detach_partition(session: AsyncSession, partition: Partition, *, drop: bool) -> None:
    """Detach a partition from usage_records (its rows leave every read), and drop it if
    asked. Names come from ``attached_partitions`` only, never from input."""
    assert _PARTITION_NAME.fullmatch(partition.name), partition.name
    await session.execute(sa.text(f"ALTER TABLE usage_records DETACH PARTITION {partition.name}"))
    if drop:
        await session.execute(sa.text(f"DROP TABLE {partition.name}"))


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
    per owner, laterally: a tenant's from the daily rollups and its edges' records)."""
    if not owners:
        return {}
    first = owners[0]
    ids = (
        sa.func.unnest(sa.cast(sa.literal([o.id for o in owners]), ARRAY(sa.BigInteger)))
        .table_valued("id")
        .render_derived(name="o", with_types=False)
    )
    if first.kind == "tenant":
        per_owner = queries.tenant_totals(
            ids.c.id,
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
        (by_id[oid], str(k)): Sums(q, cost_sum, revenue_sum)
        for oid, k, q, cost_sum, revenue_sum in (await session.execute(stmt)).all()
    }


def record_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on usage records: those of endpoints the scope sees (a record is its
    endpoint's tenant's). A tenant's subtree may hold managed tenants, whose workspace
    (endpoints, and so their rows) is theirs, even where their usage is billed above."""
    return scope.owned_by_visible_tenant(UsageRecord.tenant_id)


def records_with_cost(
    owner: UsageOwner, window: Window, visible: sa.ColumnElement[bool] | None = None
) -> sa.Subquery:
    """The owner's records in the window (``endpoint_id``, ``kind``, ``quantity``,
    ``cost``: what the owner paid for each), for per-endpoint sums (reads and reports);
    ``visible``: only those a reader may see (``record_filter``)."""
    depth = owner.depth if owner.kind == "tenant" else None
    return queries.rated_records(
        owner.kind,
        owner.id,
        depth,
        subtree=owner.subtree,
        since=window.since,
        until=window.until,
        visible=visible,
    )


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
    session: AsyncSession, scope: Scope, owner: UsageOwner, window: Window, page: PageRequest
) -> Page[EndpointUsageRow]:
    """Usage per endpoint and kind with what the owner paid for it, keyset-paged by
    ``row_key``: of the endpoints the scope sees."""
    stmt = queries.endpoint_rows(
        records_with_cost(owner, window, record_filter(scope)),
        after=page.after,
        before=page.before,
        limit=page.limit,
        backward=page.backward,
    )
    rows = [
        EndpointUsageRow(e, str(k), q, c) for e, k, q, c, _ in (await session.execute(stmt)).all()
    ]
    return page.cut(rows)


async def endpoint_row_count(
    session: AsyncSession, scope: Scope, owner: UsageOwner, window: Window
) -> int:
    """How many rows ``endpoint_rows`` lists in all (of the endpoints the scope sees)."""
    stmt = queries.endpoint_row_count(records_with_cost(owner, window, record_filter(scope)))
    return int(await session.scalar(stmt) or 0)


async def last_record_id(session: AsyncSession) -> int:
    """The highest usage record id so far (0 for none): one look at the primary key."""
    return int(
        await session.scalar(sa.select(sa.func.coalesce(sa.func.max(UsageRecord.id), 0))) or 0
    )

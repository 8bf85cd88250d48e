"""Daily usage rollups: kept in step with the records, and read for any range.

Every record counts once for each tenant on its tenant's path (the root down to the tenant
whose customer used it), at that tenant's level: ``level = record.depth - tenant.depth``.
At that level the tenant paid ``charges[level + 2]`` and earned ``charges[level + 1]``
(models.py). A record counts in the tenant's ``own_*`` columns when it is at level 0 (its
own customers) and in ``tree_*`` always. Days are UTC days, as every period in the product.

``add_to_rollups`` is called by ingestion, in its transaction, with the ids of the records
it has just inserted: one INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE for the whole
batch. Its rows go in key order, so concurrent batches take the rollup rows' locks in the
same order and cannot deadlock; each adds to what the other committed, so none is lost.

``usage_totals_select`` reads a range: the whole UTC days inside it from the rollup, the
partial days at its edges from the records: a tenant's own by index range scans on its
records, a sub-tree's for every tenant of the statement at once (``_edge_sums``).
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.tenants.models import Tenant, TenantPlacement
from tenantry.usage.models import UsageRecord, UsageRollup

_SUMS = ("records", "quantity", "cost", "revenue")
_OWN = [f"own_{name}" for name in _SUMS]
_TREE = [f"tree_{name}" for name in _SUMS]
_KEY = ["tenant_id", "day", "kind"]


def _ids(values: Sequence[int]) -> sa.BindParameter[Any]:
    array: Any = list(values)
    return sa.bindparam(None, array, type_=ARRAY(sa.BigInteger))


UTC: sa.ColumnElement[str] = sa.literal_column("'UTC'")


def _charge(index: sa.ColumnElement[int]) -> sa.ColumnElement[Decimal]:
    """The record's charge at an array index, 0 past its end (the root pays nobody)."""
    return sa.func.coalesce(UsageRecord.charges[index], 0)


def _contributions(
    records: sa.ColumnElement[bool] | None, tenant_ids: Sequence[int] | None
) -> sa.Select[Any]:
    """Rollup rows (key, own sums, tree sums, in key order) of the records matching
    ``records``, for the tenants in ``tenant_ids`` (None: every tenant)."""
    tenant = aliased(Tenant, name="record_tenant")
    ancestor = (
        sa.func.unnest(tenant.path)
        .table_valued("tenant_id", with_ordinality="position")
        .render_derived(name="ancestor")
    )
    level = UsageRecord.depth - ancestor.c.position + 1
    cost, revenue = _charge(level + 2), _charge(level + 1)
    own = ancestor.c.tenant_id == UsageRecord.tenant_id
    day = sa.cast(sa.func.timezone(UTC, UsageRecord.occurred_at), sa.Date)
    zero = sa.literal(0)
    stmt = (
        sa.select(
            ancestor.c.tenant_id,
            day,
            UsageRecord.kind,
            sa.func.count().filter(own),
            sa.func.coalesce(sa.func.sum(UsageRecord.quantity).filter(own), zero),
            sa.func.coalesce(sa.func.sum(cost).filter(own), zero),
            sa.func.coalesce(sa.func.sum(revenue).filter(own), zero),
            sa.func.count(),
            sa.func.sum(UsageRecord.quantity),
            sa.func.sum(cost),
            sa.func.sum(revenue),
        )
        .select_from(UsageRecord)
        .join(tenant, tenant.id == UsageRecord.tenant_id)
        .join(ancestor, sa.true())
        .group_by(ancestor.c.tenant_id, day, UsageRecord.kind)
        .order_by(ancestor.c.tenant_id, day, UsageRecord.kind)
    )
    if records is not None:
        stmt = stmt.where(records)
    if tenant_ids is not None:
        # The GIN index on paths finds the tenants below them; the records follow by tenant.
        stmt = stmt.where(
            tenant.path.overlap(_ids(tenant_ids)), ancestor.c.tenant_id == sa.any_(_ids(tenant_ids))
        )
    return stmt


def _insert(contributions: sa.Select[Any], *, add: bool) -> sa.Executable:
    insert = pg_insert(UsageRollup).from_select([*_KEY, *_OWN, *_TREE], contributions)
    if not add:
        return insert
    table = UsageRollup.__table__
    return insert.on_conflict_do_update(
        index_elements=_KEY,
        set_={name: table.c[name] + insert.excluded[name] for name in (*_OWN, *_TREE)},
    )


async def add_to_rollups(
    session: AsyncSession, record_ids: Sequence[int], occurred: tuple[datetime, datetime]
) -> None:
    """Add records just inserted (never ones counted already) to every level's rollup.

    ``occurred``: the first and last instant they occurred at, so that only their months'
    partitions are searched for them (by id alone, every partition's key is probed)."""
    if record_ids:
        records = sa.and_(
            UsageRecord.id == sa.any_(_ids(record_ids)),
            UsageRecord.occurred_at.between(*occurred),
        )
        await session.execute(_insert(_contributions(records, None), add=True))


async def _lock_out_ingestion(session: AsyncSession) -> None:
    """Wait for batches that have written rollup rows to commit, and hold later ones back
    until this transaction ends: a recount then sees every counted record, and no batch adds
    a record it has counted already (a batch that has not reached its rollup statement yet
    adds its records afterwards, as they are not visible to the recount)."""
    await session.execute(sa.text("LOCK TABLE usage_rollups IN SHARE ROW EXCLUSIVE MODE"))


async def recompute_rollups(session: AsyncSession, tenant_ids: Sequence[int]) -> None:
    """Count these tenants' rollups again from the records, in the caller's transaction.

    It counts each record along its tenant's current path: right while no tenant of theirs
    has moved. A move needs no recount (rollups keep what was charged to whom, as
    placements do; usage/placements.py)."""
    if not tenant_ids:
        return
    await _lock_out_ingestion(session)
    await session.execute(
        sa.delete(UsageRollup).where(UsageRollup.tenant_id == sa.any_(_ids(tenant_ids)))
    )
    await session.execute(_insert(_contributions(None, tenant_ids), add=False))


async def rebuild_all_rollups(session: AsyncSession) -> None:
    """Every tenant's rollups again from the records (what the migration's backfill does)."""
    await _lock_out_ingestion(session)
    await session.execute(sa.delete(UsageRollup))
    await session.execute(_insert(_contributions(None, None), add=False))


# Reads ---------------------------------------------------------------------------------

TimeArg = datetime | sa.ColumnElement[datetime] | InstrumentedAttribute[datetime]


def _at(value: TimeArg) -> sa.ColumnElement[datetime]:
    if isinstance(value, datetime):
        return sa.bindparam(None, value, type_=sa.DateTime(timezone=True))
    return sa.type_coerce(value, sa.DateTime(timezone=True))


def usage_totals_select(
    tenant_id: int | sa.ColumnElement[int] | InstrumentedAttribute[int],
    start: TimeArg,
    end: TimeArg,
    include_descendants: bool | sa.ColumnElement[bool],
) -> sa.Select[Any]:
    """Usage of a tenant in [start, end) per kind: ``kind, quantity, cost, revenue``, one
    row per kind that has records in the range (no row for the others).

    ``tenant_id``, ``start``, ``end`` and ``include_descendants`` may be values or SQL
    expressions (an outer tenant's id column, bound parameters): the select is meant to be
    embedded, as a LATERAL subquery or under ``json_agg`` in a scalar subquery. Whole UTC
    days come from the rollup (one index range scan); the partial days at the edges from
    the records (index range scans by tenant and time).
    """
    owner = sa.type_coerce(tenant_id, sa.BigInteger)
    since, until = _at(start), _at(end)
    if not isinstance(include_descendants, bool):
        # A flag known only at run time: both selects, each under a one-time filter.
        parts = sa.union_all(
            _totals(owner, since, until, True).where(include_descendants),
            _totals(owner, since, until, False).where(sa.not_(include_descendants)),
        ).subquery("usage_totals")
        return sa.select(*parts.c)
    return _totals(owner, since, until, include_descendants)


def _totals(
    owner: sa.ColumnElement[int],
    since: sa.ColumnElement[datetime],
    until: sa.ColumnElement[datetime],
    subtree: bool,
) -> sa.Select[Any]:
    # The first whole UTC day starts at ``since`` or the midnight after it; the whole days
    # end at the midnight before ``until``. What lies outside them is read from records.
    first_day = sa.cast(
        sa.func.timezone(UTC, since) - sa.text("interval '1 microsecond'"), sa.Date
    ) + sa.literal(1)
    end_day = sa.cast(sa.func.timezone(UTC, until), sa.Date)
    whole_from = sa.func.timezone(UTC, sa.cast(first_day, sa.DateTime))
    whole_to = sa.func.timezone(UTC, sa.cast(end_day, sa.DateTime))
    head = (since, sa.func.least(whole_from, until))
    tail = (sa.func.greatest(whole_to, whole_from), until)

    prefix = "tree_" if subtree else "own_"
    rollup = UsageRollup.__table__.c
    days = sa.select(
        rollup.kind.label("kind"),
        *(rollup[prefix + name].label(name) for name in _SUMS),
    ).where(rollup.tenant_id == owner, rollup.day >= first_day, rollup.day < end_day)
    # Parts sit two levels below an embedding query: correlate with it explicitly.
    days = days.correlate_except(UsageRollup.__table__)
    if subtree:
        edges = [_subtree_edges(owner, _edge_sums(head, tail))]
    else:
        edges = [_own_records(owner, *head), _own_records(owner, *tail)]
    parts = sa.union_all(days, *edges).subquery("parts")
    return (
        sa.select(
            parts.c.kind,
            sa.func.sum(parts.c.quantity).label("quantity"),
            sa.func.sum(parts.c.cost).label("cost"),
            sa.func.sum(parts.c.revenue).label("revenue"),
        )
        .group_by(parts.c.kind)
        .having(sa.func.sum(parts.c.records) > 0)
    )


def _own_records(
    owner: sa.ColumnElement[int],
    since: sa.ColumnElement[datetime],
    until: sa.ColumnElement[datetime],
) -> sa.Select[Any, Any, Any, Any, Any]:
    """Sums of the owner's own records in [since, until): an index range scan by tenant."""
    record = UsageRecord
    return (
        sa.select(
            record.kind.label("kind"),
            sa.func.count().label("records"),
            sa.func.sum(record.quantity).label("quantity"),
            sa.func.sum(_charge(sa.literal(2))).label("cost"),
            sa.func.sum(_charge(sa.literal(1))).label("revenue"),
        )
        .where(
            record.tenant_id == owner,
            since < until,
            record.occurred_at >= since,
            record.occurred_at < until,
        )
        .group_by(record.kind)
        .correlate_except(record)
    )


Span = tuple[sa.ColumnElement[datetime], sa.ColumnElement[datetime]]


def _edge_sums(head: Span, tail: Span) -> sa.ScalarSelect[Any]:
    """Every tenant's sub-tree sums over the partial days at a range's edges, as JSON:
    ``{tenant id: {kind: [records, quantity, cost, revenue]}}``, numbers exact.

    One scan of those days' records (the time index), each joined to the path it was rated
    up (its tenant's current path, or a placement's for records rated before a move) and
    counted for every tenant on that path, at that tenant's level, as the rollups count it.
    It refers to no outer row, so PostgreSQL runs it once per statement (an InitPlan),
    however many tenants read it: probing the records of each tenant of each reader's
    sub-tree instead cost a whole-tree read as many probes as tenants times depth."""
    record = UsageRecord
    in_edges = sa.or_(
        sa.and_(record.occurred_at >= head[0], record.occurred_at < head[1]),
        sa.and_(record.occurred_at >= tail[0], record.occurred_at < tail[1]),
    )
    columns = (record.kind, record.quantity, record.depth, record.charges)
    below = aliased(Tenant, name="edge_tenant")
    placed = aliased(TenantPlacement, name="edge_placement")
    current = (
        sa.select(*columns, below.path.label("path"))
        .join(below, below.id == record.tenant_id)
        .where(in_edges, record.id > below.placed_after_record_id)
    )
    before_a_move = (
        sa.select(*columns, placed.path.label("path"))
        .join(placed, placed.tenant_id == record.tenant_id)
        .where(in_edges, record.id > placed.records_after, record.id <= placed.records_through)
    )
    rated = sa.union_all(current, before_a_move).subquery("rated")
    ancestor = (
        sa.func.unnest(rated.c.path)
        .table_valued("tenant_id", with_ordinality="position")
        .render_derived(name="ancestor")
    )
    level = rated.c.depth - ancestor.c.position + 1

    def charge(index: sa.ColumnElement[int]) -> sa.ColumnElement[Decimal]:
        return sa.func.coalesce(rated.c.charges[index], 0)

    sums = (
        sa.select(
            ancestor.c.tenant_id,
            rated.c.kind,
            sa.func.jsonb_build_array(
                sa.func.count(),
                sa.func.sum(rated.c.quantity),
                sa.func.sum(charge(level + 2)),
                sa.func.sum(charge(level + 1)),
            ).label("sums"),
        )
        .select_from(rated)
        .join(ancestor, sa.true())
        .group_by(ancestor.c.tenant_id, rated.c.kind)
        .subquery("edge_sums")
    )
    kinds = sa.func.jsonb_object_agg(sums.c.kind, sums.c.sums).label("kinds")
    by_tenant = (
        sa.select(sums.c.tenant_id, kinds).group_by(sums.c.tenant_id).subquery("edge_tenants")
    )
    every = sa.func.jsonb_object_agg(by_tenant.c.tenant_id, by_tenant.c.kinds, type_=JSONB)
    return sa.select(every).correlate(None).scalar_subquery()


def _subtree_edges(owner: sa.ColumnElement[int], sums: sa.ScalarSelect[Any]) -> sa.Select[Any]:
    """The owner's rows of ``_edge_sums``: one per kind it has records of in the edges."""
    found = (
        sa.func.jsonb_each(sums[sa.cast(owner, sa.Text)])
        .table_valued("key", sa.column("value", JSONB))
        .render_derived(name="edge")
    )
    value = found.c.value
    return sa.select(
        found.c.key.label("kind"),
        sa.cast(value[0], sa.BigInteger).label("records"),
        *(sa.cast(value[i], sa.Numeric).label(name) for i, name in enumerate(_SUMS) if i),
    ).select_from(found)

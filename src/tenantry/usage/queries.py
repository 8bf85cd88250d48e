"""Usage reads as Core selects, shared by both read paths (the resolver path's repository
and the compiled read path's ``api/types/usage_sql.py``).

``tenant_totals`` is the one place the SQL for a tenant's usage totals is written: it takes
the tenant as a column or expression, so it can be correlated to any outer row (a tenant
row, or a list of owners unnested): every select here correlates all but its own tables,
also where it is used as a subquery in FROM. Reading totals from somewhere else than the records
(rollups) means changing its body only; its columns stay ``kind, quantity, cost, revenue``.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array as pg_array

from tenantry.usage.models import UsageRecord
from tenantry.usage.placements import charges_at, tenant_parts
from tenantry.usage.rollups import usage_totals_select

# A time bound: a value, or a bound parameter of the compiled read path.
Moment = datetime | sa.ColumnElement[datetime]
# An id or depth: a value, a column of an outer row, or a bound parameter.
Number = int | sa.ColumnElement[int]

# Rows of ``kind, quantity, cost, revenue``.
Totals = sa.Select[Any, Any, Any, Any]

# Keys of endpoint usage rows: endpoint id * 3 + position of the kind (1-based) in this list.
KIND_ORDER = ["DATA", "SMS", "VOICE"]


def _in_window(since: Moment, until: Moment) -> sa.ColumnElement[bool]:
    return sa.and_(UsageRecord.occurred_at >= since, UsageRecord.occurred_at < until)


def _value(number: Number, type_: Any) -> sa.ColumnElement[Any]:
    return sa.literal(number, type_) if isinstance(number, int) else number


def tenant_totals(
    tenant_id: Number,
    since: Moment,
    until: Moment,
    *,
    include_descendants: bool,
) -> "Totals":
    """A tenant's usage in [since, until) per kind: ``kind, quantity, cost, revenue`` (what
    the tenant paid and earned), one row per kind that has usage: whole UTC days from the
    daily rollups, the partial days at the edges from the records (rollups.py)."""
    return usage_totals_select(_value(tenant_id, sa.BigInteger), since, until, include_descendants)


def owner_totals(kind: str, owner_id: Number, since: Moment, until: Moment) -> "Totals":
    """``tenant_totals`` for a customer or an endpoint (what its customer paid)."""
    cost, revenue = charges_at(None)
    column = UsageRecord.customer_id if kind == "customer" else UsageRecord.endpoint_id
    return (
        sa.select(
            UsageRecord.kind.label("kind"),
            sa.func.sum(UsageRecord.quantity).label("quantity"),
            sa.func.coalesce(sa.func.sum(cost), 0).label("cost"),
            sa.func.coalesce(sa.func.sum(revenue), 0).label("revenue"),
        )
        .where(column == owner_id, _in_window(since, until))
        .group_by(UsageRecord.kind)
        .correlate_except(UsageRecord)
    )


def rated_records(
    kind: str,
    owner_id: Number,
    owner_depth: Number | None,
    *,
    subtree: bool,
    since: Moment,
    until: Moment,
    visible: sa.ColumnElement[bool] | None = None,
) -> sa.Subquery:
    """The owner's records in [since, until) as ``endpoint_id, kind, quantity, cost`` (what
    the owner paid for each): a customer's or an endpoint's, or a tenant's (with or without
    its sub-tree) at the tenant's level on the path each record was rated up (placements).
    ``visible``: a filter on ``UsageRecord`` keeping only those a reader may see."""
    parts: list[tuple[sa.ColumnElement[bool], sa.FromClause | None, sa.ColumnElement[Decimal]]]
    if kind != "tenant":
        column = UsageRecord.customer_id if kind == "customer" else UsageRecord.endpoint_id
        parts = [(column == owner_id, None, charges_at(None)[0])]
    else:
        assert owner_depth is not None
        owner = _value(owner_id, sa.BigInteger)
        depth = _value(owner_depth, sa.SmallInteger)
        parts = [
            (part.condition, part.table, charges_at(part.level)[0])
            for part in tenant_parts(owner, depth, subtree)
        ]
    selects = []
    for condition, table, cost in parts:
        stmt = sa.select(
            UsageRecord.endpoint_id, UsageRecord.kind, UsageRecord.quantity, cost.label("cost")
        )
        if table is not None:
            stmt = stmt.select_from(table)
        own = [UsageRecord.__table__, *([table] if table is not None else [])]
        where = [condition, _in_window(since, until), *([visible] if visible is not None else [])]
        selects.append(stmt.where(*where).correlate_except(*own))
    return sa.union_all(*selects).subquery("rated")


def endpoint_rows(
    rated: sa.Subquery,
    *,
    after: Number | None,
    limit: Number,
    before: Number | None = None,
    backward: bool = False,
) -> "sa.Select[Any, Any, Any, Any, Any]":
    """Usage per endpoint and kind of ``rated`` (``rated_records``), with what the owner
    paid for it: ``endpoint_id, kind, quantity, cost, key``, keyset-paged by ``key``
    (``row_key``) between ``after`` and ``before``, read in ``key`` order or ``backward``."""
    position = sa.func.array_position(
        pg_array([sa.literal(k, sa.String) for k in KIND_ORDER]),
        sa.cast(rated.c.kind, sa.String),
    )
    key = sa.func.min(rated.c.endpoint_id * len(KIND_ORDER) + position)
    stmt = (
        sa.select(
            rated.c.endpoint_id.label("endpoint_id"),
            rated.c.kind.label("kind"),
            sa.func.sum(rated.c.quantity).label("quantity"),
            sa.func.coalesce(sa.func.sum(rated.c.cost), 0).label("cost"),
            key.label("key"),
        )
        .group_by(rated.c.endpoint_id, rated.c.kind)
        .order_by(key.desc() if backward else key)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.having(key > after)
    return stmt if before is None else stmt.having(key < before)


def endpoint_row_count(rated: sa.Subquery) -> "sa.Select[int]":
    """How many rows ``endpoint_rows`` has in all: one per endpoint and kind."""
    groups = sa.select(rated.c.endpoint_id).group_by(rated.c.endpoint_id, rated.c.kind)
    return sa.select(sa.func.count()).select_from(groups.subquery())

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
from sqlalchemy.orm import aliased

from tenantry.tenants.models import Tenant
from tenantry.usage.models import UsageRecord

# A time bound: a value, or a bound parameter of the compiled read path.
Moment = datetime | sa.ColumnElement[datetime]
# An id or depth: a value, a column of an outer row, or a bound parameter.
Number = int | sa.ColumnElement[int]

# Rows of ``kind, quantity, cost, revenue``.
Totals = sa.Select[Any, Any, Any, Any]

# Keys of endpoint usage rows: endpoint id * 3 + position of the kind (1-based) in this list.
KIND_ORDER = ["DATA", "SMS", "VOICE"]


def cost_and_revenue(
    owner_depth: Number | None,
) -> tuple[sa.ColumnElement[Decimal], sa.ColumnElement[Decimal]]:
    """Sums of what the owner paid and earned. For a tenant at ``owner_depth``: the level it
    paid is ``depth - owner_depth + 1`` (array index + 1); for a customer, level 0."""
    charges, depth = UsageRecord.charges, UsageRecord.depth
    if owner_depth is None:
        return sa.func.coalesce(sa.func.sum(charges[1]), 0), sa.literal(Decimal(0))
    return (
        sa.func.coalesce(sa.func.sum(sa.func.coalesce(charges[depth - owner_depth + 2], 0)), 0),
        sa.func.coalesce(sa.func.sum(sa.func.coalesce(charges[depth - owner_depth + 1], 0)), 0),
    )


def records_of(kind: str, owner_id: Number, *, subtree: bool = False) -> sa.ColumnElement[bool]:
    """Filter on ``usage_records``: the owner's (a tenant's, with or without its subtree, a
    customer's or an endpoint's)."""
    if kind == "customer":
        return UsageRecord.customer_id == owner_id
    if kind == "endpoint":
        return UsageRecord.endpoint_id == owner_id
    if subtree:
        owner = sa.literal(owner_id, sa.BigInteger) if isinstance(owner_id, int) else owner_id
        # The owner is an outer row's (or a value): only ``tenants`` is this select's own.
        tenant = aliased(Tenant)
        below = (
            sa.select(tenant.id)
            .where(tenant.path.contains(pg_array([owner])))
            .correlate_except(tenant)
        )
        return UsageRecord.tenant_id.in_(below)
    return UsageRecord.tenant_id == owner_id


def _in_window(since: Moment, until: Moment) -> sa.ColumnElement[bool]:
    return sa.and_(UsageRecord.occurred_at >= since, UsageRecord.occurred_at < until)


def tenant_totals(
    tenant_id: Number,
    depth: Number,
    since: Moment,
    until: Moment,
    *,
    include_descendants: bool,
) -> "Totals":
    """A tenant's usage in [since, until) per kind: ``kind, quantity, cost, revenue`` (what
    the tenant at ``depth`` paid and earned), one row per kind that has usage."""
    cost, revenue = cost_and_revenue(depth)
    return (
        sa.select(
            UsageRecord.kind.label("kind"),
            sa.func.sum(UsageRecord.quantity).label("quantity"),
            cost.label("cost"),
            revenue.label("revenue"),
        )
        .where(
            records_of("tenant", tenant_id, subtree=include_descendants),
            _in_window(since, until),
        )
        .group_by(UsageRecord.kind)
        .correlate_except(UsageRecord)
    )


def owner_totals(kind: str, owner_id: Number, since: Moment, until: Moment) -> "Totals":
    """``tenant_totals`` for a customer or an endpoint (what its customer paid)."""
    cost, revenue = cost_and_revenue(None)
    return (
        sa.select(
            UsageRecord.kind.label("kind"),
            sa.func.sum(UsageRecord.quantity).label("quantity"),
            cost.label("cost"),
            revenue.label("revenue"),
        )
        .where(records_of(kind, owner_id), _in_window(since, until))
        .group_by(UsageRecord.kind)
        .correlate_except(UsageRecord)
    )


def endpoint_rows(
    records: sa.ColumnElement[bool],
    owner_depth: Number | None,
    since: Moment,
    until: Moment,
    *,
    after: Number | None,
    limit: Number,
) -> "sa.Select[Any, Any, Any, Any, Any]":
    """Usage per endpoint and kind of the ``records`` (``records_of``) in [since, until),
    with what the owner (a tenant at ``owner_depth``, or a customer) paid for it:
    ``endpoint_id, kind, quantity, cost, key``, keyset-paged by ``key`` (``row_key``)."""
    cost, _ = cost_and_revenue(owner_depth)
    position = sa.func.array_position(
        pg_array([sa.literal(k, sa.String) for k in KIND_ORDER]),
        sa.cast(UsageRecord.kind, sa.String),
    )
    key = sa.func.min(UsageRecord.endpoint_id * len(KIND_ORDER) + position)
    stmt = (
        sa.select(
            UsageRecord.endpoint_id.label("endpoint_id"),
            UsageRecord.kind.label("kind"),
            sa.func.sum(UsageRecord.quantity).label("quantity"),
            cost.label("cost"),
            key.label("key"),
        )
        .where(records, _in_window(since, until))
        .group_by(UsageRecord.endpoint_id, UsageRecord.kind)
        .order_by(key)
        .limit(limit)
        .correlate_except(UsageRecord)
    )
    return stmt if after is None else stmt.having(key > after)

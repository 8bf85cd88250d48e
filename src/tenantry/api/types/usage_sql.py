"""UsageSummary in the compiled read path (see ``usage.py`` for the resolver path). The SQL
of the sums is ``usage.queries``'s, the same the resolver path runs."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array as pg_array

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, cursor, fixed_object, plain
from tenantry.settings import Settings
from tenantry.tariffs.models import UsageKind
from tenantry.usage import queries
from tenantry.usage import repository as usage_repo


@dataclass(frozen=True)
class Summary:
    """The source of a UsageSummary: whose usage (as ``repository.UsageOwner``), in which
    currency, and the field that holds the window's parameters."""

    kind: str  # "tenant" | "customer" | "endpoint"
    owner_id: Any
    depth: Any  # a tenant's depth; None for customers and endpoints
    subtree: bool
    currency: Any
    field: PlannedField


def window_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    """``from``/``to`` as ``usage.usage_summary`` accepts them (else its error answers);
    the echoed strings are Python's, as the DateTime scalar writes them."""
    since, until = args["from"], args["to"]
    if not isinstance(since, datetime) or not isinstance(until, datetime):
        return None
    if since.tzinfo is None or until.tzinfo is None or since > until:
        return None
    subtree = bool(args.get("includeDescendants", True))
    values = {"from": since, "to": until, "from_text": since.isoformat()}
    return subtree, {**values, "to_text": until.isoformat()}


def summary(b: Build, source: Summary, f: PlannedField) -> sa.ColumnElement[Any]:
    return b.object("UsageSummary", source, f.children)


def _money(b: Build, amount: Any, currency: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    return b.object("Money", (amount, currency), f.children)


def _totals(b: Build, s: Summary, f: PlannedField) -> sa.ColumnElement[Any]:
    since, until = b.param(s.field, "from"), b.param(s.field, "to")
    if s.kind == "tenant":
        select = queries.tenant_totals(s.owner_id, since, until, include_descendants=s.subtree)
    else:
        select = queries.owner_totals(s.kind, s.owner_id, since, until)
    sums = select.subquery()
    total = b.object("UsageTotal", (sums.c, s.currency), f.children)
    order = sa.func.array_position(
        pg_array([sa.literal(k.value, sa.String) for k in UsageKind]),
        sa.cast(sums.c.kind, sa.String),
    )
    listed = sa.func.json_agg(total).aggregate_order_by(order)
    return (
        sa.select(sa.func.coalesce(listed, sa.text("'[]'::json")))
        .select_from(sums)
        .scalar_subquery()
    )


def _endpoints(b: Build, s: Summary, f: PlannedField) -> sa.ColumnElement[Any]:
    backward = arguments.backward(f)
    size = b.param(f, "last" if backward else "first")
    since, until = b.param(s.field, "from"), b.param(s.field, "to")
    depth = s.depth if s.kind == "tenant" else None
    rated = queries.rated_records(
        s.kind,
        s.owner_id,
        depth,
        subtree=s.subtree,
        since=since,
        until=until,
        visible=usage_repo.record_filter(b.scope),
    )
    rows = queries.endpoint_rows(
        rated,
        after=b.param(f, "after"),
        before=b.param(f, "before"),
        limit=size + 1,
        backward=backward,
    ).subquery()
    reading = rows.c.key.desc() if backward else rows.c.key
    on_page = sa.func.row_number().over(order_by=reading) <= size
    numbered = sa.select(rows, on_page.label("on_page")).subquery()
    key = numbered.c.key

    def node(c: PlannedField) -> sa.ColumnElement[Any]:
        return b.object("EndpointUsage", (numbered.c, s.currency), c.children)

    def edges(c: PlannedField) -> sa.ColumnElement[Any]:
        edge = fixed_object(c, {"cursor": lambda g: cursor(key), "node": node})
        agg = sa.func.json_agg(edge).aggregate_order_by(key).filter(numbered.c.on_page)
        return sa.func.coalesce(agg, sa.text("'[]'::json"))

    def page_key(aggregate: Any) -> sa.ColumnElement[Any]:
        return cursor(aggregate(key).filter(numbered.c.on_page))

    def page_info(c: PlannedField) -> sa.ColumnElement[Any]:
        cut_off, has_after = sa.func.count() > size, b.param(f, "has_after")
        parts = {
            "hasNextPage": lambda g: b.param(f, "has_before") if backward else cut_off,
            "hasPreviousPage": lambda g: cut_off if backward else has_after,
            "startCursor": lambda g: page_key(sa.func.min),
            "endCursor": lambda g: page_key(sa.func.max),
        }
        return fixed_object(c, parts)

    def total_count(c: PlannedField) -> sa.ColumnElement[Any]:
        return queries.endpoint_row_count(rated).scalar_subquery()

    built = fixed_object(f, {"edges": edges, "pageInfo": page_info, "totalCount": total_count})
    # HAVING makes it one group: one row, whatever is selected.
    return sa.select(built).select_from(numbered).having(sa.true()).scalar_subquery()


USAGE_SUMMARY: dict[str, FieldSQL] = {
    "from": FieldSQL(lambda b, s, f: b.param(s.field, "from_text")),
    "to": FieldSQL(lambda b, s, f: b.param(s.field, "to_text")),
    "totals": FieldSQL(_totals),
    "endpoints": FieldSQL(_endpoints, arguments.page),
}


def _endpoint(b: Build, row: tuple[Any, Any], f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.customer_sql import endpoint_by

    columns = row[0]
    return endpoint_by(b, f.children, lambda e: e.id == columns.endpoint_id)


# The source of a UsageTotal or an EndpointUsage: (the sums' columns, currency).
USAGE_TOTAL: dict[str, FieldSQL] = {
    "kind": FieldSQL(lambda b, r, f: r[0].kind),
    "quantity": FieldSQL(lambda b, r, f: plain(r[0].quantity)),
    "cost": FieldSQL(lambda b, r, f: _money(b, r[0].cost, r[1], f)),
    "revenue": FieldSQL(lambda b, r, f: _money(b, r[0].revenue, r[1], f)),
}

ENDPOINT_USAGE: dict[str, FieldSQL] = {
    "kind": USAGE_TOTAL["kind"],
    "quantity": USAGE_TOTAL["quantity"],
    "cost": USAGE_TOTAL["cost"],
    "endpoint": FieldSQL(_endpoint),
}

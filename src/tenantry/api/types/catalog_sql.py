"""Tariff and sponsor operators in the compiled read path (see ``catalog.py`` and
``tariff_version.py`` for the resolver path)."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import (
    Build,
    FieldSQL,
    column,
    cursor,
    fixed_object,
    global_id,
    iso_datetime,
    null_if,
    object_list,
    on,
    plain,
)
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.operators.models import SponsorOperator
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import Tariff, TariffRate, TariffVersion


def tariff_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The readable tariff a row alias ``match``es (``repository.by_ids``)."""
    row = aliased(Tariff)
    where = on(row, tariffs_repo.readable(b.scope))
    return b.row_object("Tariff", row, fields, match(row), where)


def operator_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The operator a row alias ``match``es: the catalog is public to every signed-in
    tenant (``operators.repository.by_ids``)."""
    row = aliased(SponsorOperator)
    return b.row_object("SponsorOperator", row, fields, match(row))


def version_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The readable tariff version a row alias ``match``es (``repository.versions_by_ids``)."""
    row = aliased(TariffVersion)
    where = on(row, tariffs_repo.version_filter(b.scope))
    return b.row_object("TariffVersion", row, fields, match(row), where)


def _fee(b: Build, version_id: Any, currency: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """A version's monthly fee (``tariff_version.fee_of``), or null."""
    version = aliased(TariffVersion)
    fee = (
        sa.select(version.monthly_fee_per_endpoint)
        .where(version.id == version_id)
        .correlate_except(version)
        .scalar_subquery()
    )
    absent = sa.or_(fee.is_(None), currency.is_(None))
    return null_if(absent, b.object("Money", (fee, currency), f.children))


def _rates(b: Build, version_id: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """A version's rates, by kind (``repository.rates_of_versions``)."""
    rate = aliased(TariffRate)
    where = [rate.version_id == version_id]
    return object_list(b, "TariffRate", rate, f.children, where=where, order_by=[rate.kind])


def _in_force(t: Any) -> sa.ColumnElement[int]:
    """The version in force now (``repository.current_versions``)."""
    return tariffs_repo.version_in_force_id(t.id, sa.func.now())


def _versions(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """``tariff_version.versions_connection``: every version, latest effective first, paged
    by position (the cursor is a version's id; an id not among them gives an empty page)."""
    first, after, has_after = (b.param(f, n) for n in ("first", "after", "has_after"))
    version = aliased(TariffVersion)
    numbered = (
        sa.select(
            version,
            sa.func.row_number().over(order_by=version.effective_from.desc()).label("n"),
        )
        .where(version.tariff_id == t.id)
        .correlate(t)
        .subquery()
    )
    # Over the versions apart from the page's rows (the FROM of the statement below).
    total = (
        sa.select(sa.func.count())
        .select_from(numbered)
        .correlate_except(numbered)
        .scalar_subquery()
    )
    position = (
        sa.select(numbered.c.n)
        .where(numbered.c.id == after)
        .correlate_except(numbered)
        .scalar_subquery()
    )
    start = sa.case((has_after, sa.func.coalesce(position, total)), else_=0)
    node: Any = aliased(TariffVersion, numbered)
    on_page = sa.and_(numbered.c.n > start, numbered.c.n <= start + first)
    order = numbered.c.n

    def page_cursor(aggregate: Callable[..., Any]) -> sa.ColumnElement[Any]:
        ids = sa.func.array_agg(numbered.c.id).aggregate_order_by(order).filter(on_page)
        return cursor(aggregate(ids))

    def edges(c: PlannedField) -> sa.ColumnElement[Any]:
        parts = {
            "cursor": lambda g: cursor(numbered.c.id),
            "node": lambda g: b.object("TariffVersion", node, g.children),
        }
        agg = sa.func.json_agg(fixed_object(c, parts)).aggregate_order_by(order).filter(on_page)
        return sa.func.coalesce(agg, sa.text("'[]'::json"))

    def page_info(c: PlannedField) -> sa.ColumnElement[Any]:
        parts = {
            "hasNextPage": lambda g: start + first < total,
            "hasPreviousPage": lambda g: has_after,
            "startCursor": lambda g: page_cursor(lambda ids: ids[1]),
            "endCursor": lambda g: page_cursor(lambda ids: ids[sa.func.cardinality(ids)]),
        }
        return fixed_object(c, parts)

    parts = {
        "edges": edges,
        "pageInfo": page_info,
        "totalCount": lambda c: total,
    }
    built = fixed_object(f, parts)
    # HAVING makes it one group: one row, whatever is selected.
    return sa.select(built).select_from(numbered).having(sa.true()).scalar_subquery()


TARIFF: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, t, f: global_id("Tariff", t.id)),
    "name": column("name"),
    "currency": column("currency"),
    # Null when the owner is not visible (``tenant_by`` finds visible tenants only).
    "owner": FieldSQL(lambda b, t, f: tenant_by(b, f.children, lambda row: row.id == t.tenant_id)),
    "monthlyFeePerEndpoint": FieldSQL(lambda b, t, f: _fee(b, _in_force(t), t.currency, f)),
    "rates": FieldSQL(lambda b, t, f: _rates(b, _in_force(t), f)),
    "versions": FieldSQL(_versions, arguments.page_forward),
}


def _effective_to(b: Build, v: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    later = aliased(TariffVersion)
    next_start = (
        sa.select(sa.func.min(later.effective_from))
        .where(later.tariff_id == v.tariff_id, later.effective_from > v.effective_from)
        .correlate_except(later)
        .scalar_subquery()
    )
    return iso_datetime(next_start)


def _version_currency(b: Build, v: Any) -> sa.ColumnElement[Any]:
    """The version's tariff's currency, when the tariff is readable (else the fee is null)."""
    tariff = aliased(Tariff)
    return (
        sa.select(tariff.currency)
        .where(tariff.id == v.tariff_id, on(tariff, tariffs_repo.readable(b.scope)))
        .correlate_except(tariff)
        .scalar_subquery()
    )


def _actor(b: Build, v: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.user_sql import user_by

    return user_by(b, f.children, lambda row: row.id == v.actor_user_id)


TARIFF_VERSION: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, v, f: global_id("TariffVersion", v.id)),
    "effectiveFrom": FieldSQL(lambda b, v, f: iso_datetime(v.effective_from)),
    "createdAt": FieldSQL(lambda b, v, f: iso_datetime(v.created_at)),
    "tariff": FieldSQL(lambda b, v, f: tariff_by(b, f.children, lambda row: row.id == v.tariff_id)),
    "effectiveTo": FieldSQL(_effective_to),
    "rates": FieldSQL(lambda b, v, f: _rates(b, v.id, f)),
    "monthlyFeePerEndpoint": FieldSQL(lambda b, v, f: _fee(b, v.id, _version_currency(b, v), f)),
    "actor": FieldSQL(_actor),
}

TARIFF_RATE: dict[str, FieldSQL] = {
    "kind": column("kind"),
    "unitPrice": FieldSQL(lambda b, r, f: plain(r.unit_price)),
    "increment": FieldSQL(lambda b, r, f: plain(r.increment)),
    "minimum": FieldSQL(lambda b, r, f: plain(r.minimum)),
}

SPONSOR_OPERATOR: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, o, f: global_id("SponsorOperator", o.id)),
    "name": column("name"),
}

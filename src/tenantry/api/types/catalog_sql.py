"""Tariff in the compiled read path (see ``catalog.py`` for the resolver path)."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, column, global_id, null_if, on
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import Tariff, TariffVersion


def tariff_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The readable tariff a row alias ``match``es (``repository.by_ids``)."""
    row = aliased(Tariff)
    where = on(row, tariffs_repo.readable(b.scope))
    return b.row_object("Tariff", row, fields, match(row), where)


def _current_fee(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """The fee of the version in force now (``repository.current_versions``)."""
    version = aliased(TariffVersion)
    fee = (
        sa.select(version.monthly_fee_per_endpoint)
        .where(version.id == tariffs_repo.version_in_force_id(t.id, sa.func.now()))
        .scalar_subquery()
    )
    return null_if(fee.is_(None), b.object("Money", (fee, t.currency), f.children))


TARIFF: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, t, f: global_id("Tariff", t.id)),
    "name": column("name"),
    "currency": column("currency"),
    # Null when the owner is not visible (``tenant_by`` finds visible tenants only).
    "owner": FieldSQL(lambda b, t, f: tenant_by(b, f.children, lambda row: row.id == t.tenant_id)),
    "monthlyFeePerEndpoint": FieldSQL(_current_fee),
}

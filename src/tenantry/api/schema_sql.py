"""Query's fields in the compiled read path (see ``schema.py`` for the resolver path)."""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, connection
from tenantry.api.relay import decode_id
from tenantry.api.types.tenant_sql import by
from tenantry.settings import Settings
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.models import Tenant


def _tenant_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    tenant_id, moniker = args.get("id"), args.get("moniker")
    if (tenant_id is None) == (moniker is None):
        return None  # the resolver path answers with its error
    if moniker is not None:
        return "moniker", {"moniker": moniker}
    return "id", {"id": decode_id(str(tenant_id), "Tenant")}


def _tenant(b: Build, root: None, f: PlannedField) -> sa.ColumnElement[Any]:
    if f.shape == "moniker":
        return by(b, f.children, lambda row: row.moniker == b.param(f, "moniker"))
    return by(b, f.children, lambda row: row.id == b.param(f, "id"))


def _tenants_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    page = arguments.page(args, settings)
    if page is None:
        return None
    search = args.get("search")
    if not search:
        return False, page[1]
    return True, {**page[1], "search": tenants_repo.search_pattern(search)}


def _tenants(b: Build, root: None, f: PlannedField) -> sa.ColumnElement[Any]:
    where = [b.scope.tenants()]
    if f.shape:
        where.append(tenants_repo.matches_search(b.param(f, "search")))
    return connection(b, f, Tenant, where, "Tenant")


QUERY: dict[str, FieldSQL] = {
    "viewer": FieldSQL(lambda b, root, f: b.object("Viewer", None, f.children)),
    "tenant": FieldSQL(_tenant, _tenant_arguments),
    "tenants": FieldSQL(_tenants, _tenants_arguments),
}

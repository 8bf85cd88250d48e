"""Query's fields in the compiled read path (see ``schema.py`` for the resolver path)."""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from strawberry import relay

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, connection
from tenantry.api.node import NODE_RESOLVERS
from tenantry.api.relay import UNKNOWN_ID, decode_id
from tenantry.api.types.account_sql import by as account_by
from tenantry.api.types.account_sql import posting_by
from tenantry.api.types.catalog_sql import operator_by, tariff_by, version_by
from tenantry.api.types.customer_sql import customer_by, endpoint_by
from tenantry.api.types.partner_sql import billing_entity_by, invoice_by, plan_by
from tenantry.api.types.report_sql import report_by
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.api.types.user_sql import user_by
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
        return tenant_by(b, f.children, lambda row: row.moniker == b.param(f, "moniker"))
    return tenant_by(b, f.children, lambda row: row.id == b.param(f, "id"))


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


# Node types that compile, with how to find one by id (through the scope helper).
NODE_TYPES = {
    "Tenant": tenant_by,
    "Account": account_by,
    "Customer": customer_by,
    "Endpoint": endpoint_by,
    "User": user_by,
    "Tariff": tariff_by,
    "AccountTransaction": posting_by,
    "SponsorOperator": operator_by,
    "TariffVersion": version_by,
    "UsageReport": report_by,
    "Invoice": invoice_by,
    "Plan": plan_by,
    "BillingEntity": billing_entity_by,
}


def _node_id(global_id: str) -> tuple[str, int] | None:
    """``api.node.resolve_node``'s reading of an id: (type, pk), or None when it answers
    null (malformed, unknown type, no number). Raises Fallback-worthy KeyError for node
    types that do not compile."""
    try:
        type_name = relay.GlobalID.from_id(global_id).type_name
    except (relay.GlobalIDValueError, ValueError):
        return None
    pk = decode_id(global_id, type_name)
    if type_name not in NODE_RESOLVERS or pk == UNKNOWN_ID:
        return None
    if type_name not in NODE_TYPES:
        raise KeyError(type_name)
    return type_name, pk


def _node_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    try:
        found = _node_id(str(args["id"]))
    except KeyError:
        return None
    if found is None:
        return None, {}
    return found[0], {"id": found[1]}


def _node(b: Build, root: None, f: PlannedField) -> sa.ColumnElement[Any]:
    if f.shape is None:
        return sa.null()
    return NODE_TYPES[str(f.shape)](b, f.children, lambda row: row.id == b.param(f, "id"))


def _nodes_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    ids = [str(i) for i in args["ids"]]
    if len(ids) > settings.max_page_size:
        return None  # the resolver path answers with its error
    try:
        found = [_node_id(i) for i in ids]
    except KeyError:
        return None
    types = {f[0] for f in found if f is not None}
    if len(types) > 1:
        return None
    pks = [UNKNOWN_ID if f is None else f[1] for f in found]
    # No id names a node: a list of nulls, whatever is selected.
    return (types.pop() if types else None), {"ids": pks}


def _nodes(b: Build, root: None, f: PlannedField) -> sa.ColumnElement[Any]:
    ids = sa.func.unnest(b.param(f, "ids")).table_valued("id", with_ordinality="n").render_derived()
    element = (
        sa.cast(sa.null(), sa.JSON)
        if f.shape is None
        else NODE_TYPES[str(f.shape)](b, f.children, lambda row: row.id == ids.c.id)
    )
    listed = sa.func.json_agg(element).aggregate_order_by(ids.c.n)
    return (
        sa.select(sa.func.coalesce(listed, sa.text("'[]'::json")))
        .select_from(ids)
        .scalar_subquery()
    )


QUERY: dict[str, FieldSQL] = {
    "node": FieldSQL(_node, _node_arguments),
    "nodes": FieldSQL(_nodes, _nodes_arguments),
    "viewer": FieldSQL(lambda b, root, f: b.object("Viewer", None, f.children)),
    "tenant": FieldSQL(_tenant, _tenant_arguments),
    "tenants": FieldSQL(_tenants, _tenants_arguments),
}

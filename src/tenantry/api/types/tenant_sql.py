"""Tenant in the compiled read path (see ``tenant.py`` for the resolver path)."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import (
    Build,
    FieldSQL,
    all_on,
    column,
    connection,
    global_id,
    iso_datetime,
    null_if,
    on,
)
from tenantry.api.relay import UNKNOWN_ID
from tenantry.api.types.usage_sql import Summary, summary, window_arguments
from tenantry.auth import repository as auth_repo
from tenantry.auth.models import User
from tenantry.customers import repository as customers_repo
from tenantry.customers.models import Customer
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger.models import Account
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import Tariff
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.models import Tenant, TenantKind


def by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible tenant (or billing face: ``repository.by_ids``) a row alias ``match``es."""
    row = aliased(Tenant)
    return b.row_object("Tenant", row, fields, match(row), on(row, b.scope.billing_faces()))


def _parent(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    return null_if(t.parent_id.is_(None), by(b, f.children, lambda row: row.id == t.parent_id))


def _sub_tenants(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    where = tenants_repo.children_filter(b.scope, TenantKind.SUB_TENANT)
    return connection(
        b, f, Tenant, where, "Tenant", match=lambda row: row.parent_id == t.id, correlate=t
    )


def _managed_tenants(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    # ``Principal.lists_managed_tenants_of``: its own partner's admins, on that partner only.
    if not b.principal.lists_managed_tenants_of(b.principal.tenant_id):
        return sa.null()
    where = tenants_repo.managed_filter(b.scope)
    managed = connection(
        b, f, Tenant, where, "Tenant", match=lambda row: row.parent_id == t.id, correlate=t
    )
    return sa.case((t.id == b.scope.tenant_id, managed), else_=sa.null())


def _customers(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    # Where the caller sees only a billing face, the filter finds none, as the resolver
    # path's stand-in tenant does.
    where = [customers_repo.customer_filter(b.scope)]
    return connection(
        b, f, Customer, where, "Customer", match=lambda row: row.tenant_id == t.id, correlate=t
    )


def _users(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    # As ``_customers``: the filter finds none behind a billing face.
    where = [auth_repo.user_filter(b.scope)]
    return connection(
        b, f, User, where, "User", match=lambda row: row.tenant_id == t.id, correlate=t
    )


def _tariffs(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    # As ``_customers``: the filter finds none behind a billing face.
    where = [tariffs_repo.owned(b.scope)]
    return connection(
        b, f, Tariff, where, "Tariff", match=lambda row: row.tenant_id == t.id, correlate=t
    )


def _tariff(column_name: str) -> FieldSQL:
    """A tariff the tenant pays, when readable (``repository.by_ids``)."""

    def build(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
        from tenantry.api.types.catalog_sql import tariff_by

        return tariff_by(b, f.children, lambda row: row.id == getattr(t, column_name))

    return _face_only(FieldSQL(build), lambda t: sa.null())


def _account(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    a = aliased(Account)
    where = all_on(a, ledger_repo.tenant_account_filter(b.scope))
    return b.row_object("Account", a, f.children, a.tenant_id == t.id, *where)


def _workspace(b: Build, t: Any) -> sa.ColumnElement[bool]:
    """``Scope.sees_workspace_of``: the tenant is in full scope, not just a billing face."""
    return on(t, b.scope.tenants())


def _face_only(sql: FieldSQL, hidden: Callable[[Any], Any]) -> FieldSQL:
    """A field outside ``BILLING_FACE`` (``Scope.sees_field_of``): where the caller sees only
    the tenant's billing face, it answers what the resolver path's stand-in tenant does."""
    return FieldSQL(
        lambda b, t, f: sa.case((_workspace(b, t), sql.build(b, t, f)), else_=hidden(t)),
        sql.bind,
    )


def _usage(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    # Outside the workspace (a billing face), the resolver path's stand-in has no id.
    owner = sa.case((_workspace(b, t), t.id), else_=UNKNOWN_ID)
    depth = sa.func.cardinality(t.path) - 1
    return summary(b, Summary("tenant", owner, depth, bool(f.shape), t.currency, f), f)


TENANT: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, t, f: global_id("Tenant", t.id)),
    "name": column("name"),
    "moniker": column("moniker"),
    "kind": column("kind"),
    "depth": FieldSQL(lambda b, t, f: sa.func.cardinality(t.path) - 1),
    "isPartner": column("is_partner"),
    "subscriptionTypes": _face_only(
        column("subscription_types"),
        lambda t: sa.cast(sa.literal_column("'{}'"), t.subscription_types.type),
    ),
    "inheritSponsorOperators": _face_only(
        column("inherit_sponsor_operators"), lambda t: sa.false()
    ),
    "currency": column("currency"),
    "country": column("country"),
    "partnerAccess": column("partner_access"),
    "createdAt": FieldSQL(lambda b, t, f: iso_datetime(t.created_at)),
    "customerTopUpUrl": _face_only(column("customer_top_up_url"), lambda t: sa.null()),
    "parent": FieldSQL(_parent),
    "subTenants": FieldSQL(_sub_tenants, arguments.page),
    "managedTenants": FieldSQL(_managed_tenants, arguments.page),
    "account": FieldSQL(_account),
    "customers": FieldSQL(_customers, arguments.page),
    "users": FieldSQL(_users, arguments.page),
    "tariffs": FieldSQL(_tariffs, arguments.page),
    "tenantTariff": _tariff("tenant_tariff_id"),
    "defaultCustomerTariff": _tariff("default_customer_tariff_id"),
    "usage": FieldSQL(_usage, window_arguments),
}

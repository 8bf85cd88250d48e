"""Tenant in the compiled read path (see ``tenant.py`` for the resolver path)."""

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.compiler.sql import (
    Build,
    FieldSQL,
    all_on,
    column,
    connection,
    global_id,
    iso_datetime,
    null_if,
    object_list,
    on,
)
from tenantry.api.relay import UNKNOWN_ID
from tenantry.api.types.usage_sql import Summary, summary, window_arguments
from tenantry.audit import repository as audit_repo
from tenantry.audit.models import AuditEvent
from tenantry.auth import repository as auth_repo
from tenantry.auth.models import User
from tenantry.customers import repository as customers_repo
from tenantry.customers.models import Customer
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger.models import Account
from tenantry.operators import repository as operators_repo
from tenantry.operators.models import SponsorOperator
from tenantry.partners import invoice_repository as invoices_repo
from tenantry.partners import repository as partners_repo
from tenantry.partners.models import Invoice, Plan, PlanKind, PlanPeriod
from tenantry.reports import repository as reports_repo
from tenantry.reports.models import UsageReport
from tenantry.settings import Settings
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


def _sponsor_operators(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """The operators available to the tenant (``operators.service.effective_operator_ids``),
    by name as Python sorts text (code points: the C collation of UTF-8)."""
    operator = aliased(SponsorOperator)
    where = [on(operator, operators_repo.available_filter(t.path))]
    order = [operator.name.collate("C"), operator.id]
    return object_list(b, "SponsorOperator", operator, f.children, where=where, order_by=order)


def _newest_first(
    model: Any, node_type: str, where: Callable[[Build], list[sa.ColumnElement[bool]]]
) -> FieldSQL:
    """A tenant's connection of ``model`` rows (by ``tenant_id``), newest first."""

    def build(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
        return connection(
            b,
            f,
            model,
            where(b),
            node_type,
            match=lambda row: row.tenant_id == t.id,
            correlate=t,
            newest_first=True,
        )

    return FieldSQL(build, arguments.page_newest_first)


def _audit_filter(b: Build) -> list[sa.ColumnElement[bool]]:
    # ``Principal.reads_audit_log_of``: its admins, where the workspace shows (the filter
    # finds none behind a billing face); an empty log for anyone else.
    if not b.principal.reads_audit_logs:
        return [sa.false()]
    return [audit_repo.event_filter(b.scope)]


def _billing_entity(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.partner_sql import billing_entity_by

    return billing_entity_by(b, f.children, lambda row: row.id == t.billing_entity_id)


def _current_plan(kind: PlanKind) -> FieldSQL:
    """A managed tenant's plan of ``kind`` now (its open period's), when visible."""

    def build(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
        from tenantry.api.types.partner_sql import plan_by

        period = aliased(PlanPeriod)
        plan_id = (
            sa.select(period.plan_id)
            .where(
                period.managed_tenant_id == t.id,
                period.kind == kind,
                period.ended_at.is_(None),
            )
            .correlate_except(period)
            .scalar_subquery()
        )
        current = plan_by(b, f.children, lambda row: row.id == plan_id)
        return null_if(t.kind != TenantKind.MANAGED, current)

    return FieldSQL(build)


def _plan_catalog_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    # One of two kinds: in the SQL text.
    return PlanKind(args["kind"]).value, {}


def _plan_catalog(b: Build, t: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """A partner's plans of one kind, cheapest first (``repository.catalogs``); none
    behind a billing face (the filter finds none there)."""
    plan = aliased(Plan)
    where = [
        plan.tenant_id == t.id,
        plan.kind == PlanKind(str(f.shape)),
        on(plan, partners_repo.plan_filter(b.scope)),
    ]
    order = [getattr(plan, c.key) for c in partners_repo.CATALOG_ORDER]
    return object_list(b, "Plan", plan, f.children, where=where, order_by=order)


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
    "sponsorOperators": _face_only(FieldSQL(_sponsor_operators), lambda t: sa.text("'[]'::json")),
    # Behind a billing face, each filter finds none, as the resolver path's stand-in does.
    "reports": _newest_first(
        UsageReport, "UsageReport", lambda b: [reports_repo.report_filter(b.scope)]
    ),
    "invoices": _newest_first(
        Invoice, "Invoice", lambda b: [invoices_repo.invoice_filter(b.scope)]
    ),
    "auditEvents": _newest_first(AuditEvent, "AuditEvent", _audit_filter),
    "billingEntity": FieldSQL(_billing_entity),
    "tenantPlan": _current_plan(PlanKind.TENANT),
    "supportPlan": _current_plan(PlanKind.SUPPORT),
    "planCatalog": FieldSQL(_plan_catalog, _plan_catalog_arguments),
}

"""Billing entities, plans and invoices in the compiled read path (see ``partner.py`` and
``invoice.py`` for the resolver path)."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import (
    Build,
    FieldSQL,
    column,
    global_id,
    iso_datetime,
    object_list,
    on,
)
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.partners import invoice_repository as invoices_repo
from tenantry.partners import repository as partners_repo
from tenantry.partners.models import BillingEntity, Invoice, InvoiceLine, Plan


def billing_entity_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The billing entity a row alias ``match``es: the platform's entities are a public
    catalog (``repository.billing_entities_by_ids``)."""
    row = aliased(BillingEntity)
    return b.row_object("BillingEntity", row, fields, match(row))


def plan_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible plan a row alias ``match``es (``repository.plans_by_ids``)."""
    row = aliased(Plan)
    where = on(row, partners_repo.plan_filter(b.scope))
    return b.row_object("Plan", row, fields, match(row), where)


BILLING_ENTITY: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, e, f: global_id("BillingEntity", e.id)),
    "name": column("name"),
    "country": column("country"),
    "code": column("code"),
}

PLAN: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, p, f: global_id("Plan", p.id)),
    "name": column("name"),
    "kind": column("kind"),
    "createdAt": FieldSQL(lambda b, p, f: iso_datetime(p.created_at)),
    "monthlyPrice": FieldSQL(
        lambda b, p, f: b.object("Money", (p.monthly_price, p.currency), f.children)
    ),
}


def invoice_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible invoice a row alias ``match``es (``invoice_repository.by_ids``)."""
    row = aliased(Invoice)
    where = on(row, invoices_repo.invoice_filter(b.scope))
    return b.row_object("Invoice", row, fields, match(row), where)


def _lines(b: Build, i: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """The invoice's lines in the order they were billed (``repository.lines_of``)."""
    line = aliased(InvoiceLine)
    where = [line.invoice_id == i.id, on(line, invoices_repo.line_filter(b.scope))]
    # A line has no currency of its own: the invoice's goes with it.
    source = (line, i.currency)
    return object_list(b, "InvoiceLine", source, f.children, where=where, order_by=[line.id])


def _transaction(b: Build, i: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.account_sql import posting_by

    return posting_by(b, f.children, lambda row: row.id == i.posting_id)


INVOICE: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, i, f: global_id("Invoice", i.id)),
    "number": column("number"),
    "periodStart": FieldSQL(lambda b, i, f: iso_datetime(i.period_start)),
    "periodEnd": FieldSQL(lambda b, i, f: iso_datetime(i.period_end)),
    "createdAt": FieldSQL(lambda b, i, f: iso_datetime(i.created_at)),
    "issuedAt": FieldSQL(lambda b, i, f: iso_datetime(i.created_at)),
    "tenant": FieldSQL(lambda b, i, f: tenant_by(b, f.children, lambda row: row.id == i.tenant_id)),
    "billingEntity": FieldSQL(
        lambda b, i, f: billing_entity_by(b, f.children, lambda row: row.id == i.billing_entity_id)
    ),
    "lines": FieldSQL(_lines),
    "total": FieldSQL(lambda b, i, f: b.object("Money", (i.total, i.currency), f.children)),
    "transaction": FieldSQL(_transaction),
}

# The source of an InvoiceLine: (the line's row alias, its invoice's currency).
INVOICE_LINE: dict[str, FieldSQL] = {
    "description": FieldSQL(lambda b, s, f: s[0].description),
    "periodStart": FieldSQL(lambda b, s, f: iso_datetime(s[0].period_start)),
    "periodEnd": FieldSQL(lambda b, s, f: iso_datetime(s[0].period_end)),
    "amount": FieldSQL(lambda b, s, f: b.object("Money", (s[0].amount, s[1]), f.children)),
    "managedTenant": FieldSQL(
        lambda b, s, f: tenant_by(b, f.children, lambda row: row.id == s[0].managed_tenant_id)
    ),
    "plan": FieldSQL(lambda b, s, f: plan_by(b, f.children, lambda row: row.id == s[0].plan_id)),
}

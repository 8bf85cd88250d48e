"""Customer and Endpoint in the compiled read path (see ``customer.py`` for the resolver
path)."""

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
    connection,
    global_id,
    iso_datetime,
    on,
)
from tenantry.api.types.account_sql import by as account_by
from tenantry.api.types.catalog_sql import operator_by, tariff_by
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.api.types.usage_sql import Summary, summary, window_arguments
from tenantry.customers import repository as customers_repo
from tenantry.customers.models import Customer, Endpoint
from tenantry.tenants.models import Tenant


def customer_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible customer a row alias ``match``es (``repository.customers_by_ids``)."""
    row = aliased(Customer)
    where = on(row, customers_repo.customer_filter(b.scope))
    return b.row_object("Customer", row, fields, match(row), where)


def endpoint_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible endpoint a row alias ``match``es (``repository.endpoints_by_ids``)."""
    row = aliased(Endpoint)
    where = on(row, customers_repo.endpoint_filter(b.scope))
    return b.row_object("Endpoint", row, fields, match(row), where)


def _endpoints(b: Build, c: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    where = [customers_repo.endpoint_filter(b.scope)]
    return connection(
        b, f, Endpoint, where, "Endpoint", match=lambda row: row.customer_id == c.id, correlate=c
    )


def _usage(kind: str) -> FieldSQL:
    """Usage of a customer or an endpoint, in its tenant's currency."""

    def build(b: Build, row: Any, f: PlannedField) -> sa.ColumnElement[Any]:
        # An alias of its own: a plain ``tenants`` would be correlated to an enclosing one.
        tenant = aliased(Tenant)
        currency = (
            sa.select(tenant.currency)
            .where(tenant.id == row.tenant_id)
            .correlate_except(tenant)
            .scalar_subquery()
        )
        return summary(b, Summary(kind, row.id, None, False, currency, f), f)

    return FieldSQL(build, window_arguments)


CUSTOMER: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, c, f: global_id("Customer", c.id)),
    "name": column("name"),
    "subscriptionType": column("subscription_type"),
    "createdAt": FieldSQL(lambda b, c, f: iso_datetime(c.created_at)),
    "tenant": FieldSQL(lambda b, c, f: tenant_by(b, f.children, lambda row: row.id == c.tenant_id)),
    "account": FieldSQL(
        lambda b, c, f: account_by(b, f.children, lambda row: row.id == c.account_id)
    ),
    "endpoints": FieldSQL(_endpoints, arguments.page),
    # Null when free, or when the caller may not read it (``tariff_by_id``).
    "tariff": FieldSQL(lambda b, c, f: tariff_by(b, f.children, lambda row: row.id == c.tariff_id)),
    "usage": _usage("customer"),
}

ENDPOINT: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, e, f: global_id("Endpoint", e.id)),
    "name": column("name"),
    "iccid": column("iccid"),
    "createdAt": FieldSQL(lambda b, e, f: iso_datetime(e.created_at)),
    "customer": FieldSQL(
        lambda b, e, f: customer_by(b, f.children, lambda row: row.id == e.customer_id)
    ),
    "usage": _usage("endpoint"),
    "sponsorOperator": FieldSQL(
        lambda b, e, f: operator_by(b, f.children, lambda row: row.id == e.sponsor_operator_id)
    ),
}

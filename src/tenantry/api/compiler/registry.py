"""Which GraphQL fields compile, and how: every type's mapping, found by type name."""

from tenantry.api.compiler.planner import Binder, no_arguments
from tenantry.api.compiler.sql import CONNECTION_FIELDS, EDGE_FIELDS, PAGE_INFO_FIELDS, FieldSQL
from tenantry.api.schema_sql import QUERY
from tenantry.api.types.account_sql import ACCOUNT, ACCOUNT_TRANSACTION
from tenantry.api.types.audit_sql import AUDIT_EVENT
from tenantry.api.types.catalog_sql import SPONSOR_OPERATOR, TARIFF, TARIFF_RATE, TARIFF_VERSION
from tenantry.api.types.customer_sql import CUSTOMER, ENDPOINT
from tenantry.api.types.money_sql import MONEY
from tenantry.api.types.partner_sql import BILLING_ENTITY, INVOICE, INVOICE_LINE, PLAN
from tenantry.api.types.report_sql import USAGE_REPORT
from tenantry.api.types.tenant_sql import TENANT
from tenantry.api.types.usage_sql import ENDPOINT_USAGE, USAGE_SUMMARY, USAGE_TOTAL
from tenantry.api.types.user_sql import USER, VIEWER

TYPES: dict[str, dict[str, FieldSQL]] = {
    "Query": QUERY,
    "Viewer": VIEWER,
    "Tenant": TENANT,
    "Account": ACCOUNT,
    "AccountTransaction": ACCOUNT_TRANSACTION,
    "Money": MONEY,
    "Customer": CUSTOMER,
    "Endpoint": ENDPOINT,
    "User": USER,
    "Tariff": TARIFF,
    "UsageSummary": USAGE_SUMMARY,
    "UsageTotal": USAGE_TOTAL,
    "EndpointUsage": ENDPOINT_USAGE,
    "SponsorOperator": SPONSOR_OPERATOR,
    "TariffRate": TARIFF_RATE,
    "TariffVersion": TARIFF_VERSION,
    "UsageReport": USAGE_REPORT,
    "Invoice": INVOICE,
    "InvoiceLine": INVOICE_LINE,
    "BillingEntity": BILLING_ENTITY,
    "Plan": PLAN,
    "AuditEvent": AUDIT_EVENT,
}


def binder_of(type_name: str, field_name: str) -> Binder | None:
    """The field's argument binder when the field compiles, else None."""
    mapping = TYPES.get(type_name)
    if mapping is not None:
        found = mapping.get(field_name)
        return None if found is None else found.bind
    if type_name.endswith("Connection") and field_name in CONNECTION_FIELDS:
        return no_arguments
    if type_name.endswith("Edge") and field_name in EDGE_FIELDS:
        return no_arguments
    if type_name == "PageInfo" and field_name in PAGE_INFO_FIELDS:
        return no_arguments
    return None

"""All loaders of one request, built fresh per request for the caller's scope."""

from dataclasses import dataclass, fields

from tenantry.api.loaders.audit import (
    AuditEventCountByTenantLoader,
    AuditEventPageByTenantLoader,
    ImpersonationByIdLoader,
    UserByIdUnscopedLoader,
)
from tenantry.api.loaders.catalog import (
    CurrentVersionByTariffLoader,
    EffectiveOperatorIdsLoader,
    SponsorOperatorByIdLoader,
    TariffByIdLoader,
    TariffCountByOwnerLoader,
    TariffPageByOwnerLoader,
    TariffVersionByIdLoader,
    VersionRatesLoader,
    VersionsByTariffLoader,
)
from tenantry.api.loaders.customers import (
    CustomerByIdLoader,
    CustomerCountByTenantLoader,
    CustomerPageByTenantLoader,
    EndpointByIdLoader,
    EndpointCountByCustomerLoader,
    EndpointPageByCustomerLoader,
    TopUpTemplateByTenantLoader,
)
from tenantry.api.loaders.fees import FeeRunByIdLoader, FeeRunChargedLoader
from tenantry.api.loaders.invoices import (
    InvoiceByIdLoader,
    InvoiceCountByTenantLoader,
    InvoiceLinesLoader,
    InvoicePageByTenantLoader,
)
from tenantry.api.loaders.ledger import (
    AccountByIdLoader,
    LedgerTransactionByIdLoader,
    PostingByIdLoader,
    PostingCountLoader,
    PostingPageLoader,
    TenantAccountLoader,
)
from tenantry.api.loaders.partners import (
    BillingEntityByIdLoader,
    CurrentPlansLoader,
    ManagedTenantCountLoader,
    ManagedTenantPageLoader,
    PlanByIdLoader,
    PlanCatalogLoader,
)
from tenantry.api.loaders.reports import (
    UsageReportByIdLoader,
    UsageReportCountByTenantLoader,
    UsageReportPageByTenantLoader,
)
from tenantry.api.loaders.tenants import (
    LineageLoader,
    SubTenantCountByParentLoader,
    SubTenantPageByParentLoader,
    TenantByIdLoader,
)
from tenantry.api.loaders.usage import UsageTotalsLoader
from tenantry.api.loaders.users import (
    ApiTokenByIdLoader,
    UserByIdLoader,
    UserCountByTenantLoader,
    UserPageByTenantLoader,
)
from tenantry.auth.scope import Scope
from tenantry.db.engine import Database


@dataclass(frozen=True)
class DataLoaders:
    tenant_by_id: TenantByIdLoader
    lineage: LineageLoader
    sub_tenant_page: SubTenantPageByParentLoader
    sub_tenant_count: SubTenantCountByParentLoader
    user_by_id: UserByIdLoader
    user_page: UserPageByTenantLoader
    user_count: UserCountByTenantLoader
    api_token_by_id: ApiTokenByIdLoader
    tariff_by_id: TariffByIdLoader
    tariff_page: TariffPageByOwnerLoader
    tariff_count: TariffCountByOwnerLoader
    version_rates: VersionRatesLoader
    current_version: CurrentVersionByTariffLoader
    tariff_versions: VersionsByTariffLoader
    tariff_version_by_id: TariffVersionByIdLoader
    sponsor_operator_by_id: SponsorOperatorByIdLoader
    effective_operator_ids: EffectiveOperatorIdsLoader
    customer_by_id: CustomerByIdLoader
    customer_page: CustomerPageByTenantLoader
    customer_count: CustomerCountByTenantLoader
    endpoint_by_id: EndpointByIdLoader
    endpoint_page: EndpointPageByCustomerLoader
    endpoint_count: EndpointCountByCustomerLoader
    top_up_template: TopUpTemplateByTenantLoader
    account_by_id: AccountByIdLoader
    tenant_account: TenantAccountLoader
    posting_page: PostingPageLoader
    posting_count: PostingCountLoader
    ledger_transaction_by_id: LedgerTransactionByIdLoader
    posting_by_id: PostingByIdLoader
    usage_totals: UsageTotalsLoader
    report_by_id: UsageReportByIdLoader
    report_page: UsageReportPageByTenantLoader
    report_count: UsageReportCountByTenantLoader
    billing_entity_by_id: BillingEntityByIdLoader
    plan_by_id: PlanByIdLoader
    current_plans: CurrentPlansLoader
    plan_catalog: PlanCatalogLoader
    managed_page: ManagedTenantPageLoader
    managed_count: ManagedTenantCountLoader
    audit_page: AuditEventPageByTenantLoader
    audit_count: AuditEventCountByTenantLoader
    impersonation_by_id: ImpersonationByIdLoader
    user_by_id_unscoped: UserByIdUnscopedLoader
    invoice_by_id: InvoiceByIdLoader
    invoice_page: InvoicePageByTenantLoader
    invoice_count: InvoiceCountByTenantLoader
    invoice_lines: InvoiceLinesLoader
    fee_run_by_id: FeeRunByIdLoader
    fee_run_charged: FeeRunChargedLoader

    @classmethod
    def build(cls, db: Database, scope: Scope) -> "DataLoaders":
        return cls(**{f.name: f.type(db, scope) for f in fields(cls)})  # type: ignore[operator]

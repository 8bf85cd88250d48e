"""The Tenant type."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_snake_case

from tenantry.api.info import Info
from tenantry.api.relay import (
    UNKNOWN_ID,
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    LastArg,
    child_connection,
)
from tenantry.api.types.billing_face import hide_outside_billing_face
from tenantry.api.types.enums import PlanKind, SubscriptionType, TenantKind
from tenantry.api.types.usage import FromArg, ToArg
from tenantry.tenants.models import Tenant
from tenantry.tenants.settings import setting_sources

if TYPE_CHECKING:
    from tenantry.api.types.account import AccountType
    from tenantry.api.types.audit import AuditEventType
    from tenantry.api.types.catalog import SponsorOperatorType, TariffType
    from tenantry.api.types.customer import CustomerType
    from tenantry.api.types.invoice import InvoiceType
    from tenantry.api.types.partner import BillingEntityType, PlanType
    from tenantry.api.types.report import UsageReportType
    from tenantry.api.types.usage import UsageSummary
    from tenantry.api.types.user import UserType

UserRef = Annotated["UserType", strawberry.lazy("tenantry.api.types.user")]
TariffRef = Annotated["TariffType", strawberry.lazy("tenantry.api.types.catalog")]
OperatorRef = Annotated["SponsorOperatorType", strawberry.lazy("tenantry.api.types.catalog")]
CustomerRef = Annotated["CustomerType", strawberry.lazy("tenantry.api.types.customer")]
AccountRef = Annotated["AccountType", strawberry.lazy("tenantry.api.types.account")]
UsageSummaryRef = Annotated["UsageSummary", strawberry.lazy("tenantry.api.types.usage")]
UsageReportRef = Annotated["UsageReportType", strawberry.lazy("tenantry.api.types.report")]
BillingEntityRef = Annotated["BillingEntityType", strawberry.lazy("tenantry.api.types.partner")]
PlanRef = Annotated["PlanType", strawberry.lazy("tenantry.api.types.partner")]
AuditEventRef = Annotated["AuditEventType", strawberry.lazy("tenantry.api.types.audit")]
InvoiceRef = Annotated["InvoiceType", strawberry.lazy("tenantry.api.types.invoice")]


@strawberry.type(name="Tenant", description="A tenant: the platform, a reseller, a sub-tenant...")
class TenantType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Up to 200 characters.")
    moniker: str = strawberry.field(description="Globally unique; lowercase, digits, '_' and '-'.")
    kind: TenantKind = strawberry.field(description="ROOT, SUB_TENANT or MANAGED.")
    depth: int = strawberry.field(description="0 for the platform (root) tenant.")
    is_partner: bool = strawberry.field(
        description="A partner holds managed tenants and is invoiced for their plans; set "
        "by platform admins."
    )
    subscription_types: list[SubscriptionType] = strawberry.field(
        description="The subscription types its customers may have; always includes INTEGRATED."
    )
    inherit_sponsor_operators: bool = strawberry.field(
        description="True: every operator of the parent is available to it too, beside those "
        "granted directly."
    )
    currency: str = strawberry.field(description="ISO 4217 code.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    partner_access: bool = strawberry.field(description="A managed tenant lets its partner in.")
    created_at: datetime = strawberry.field(
        description="When it was created (a managed tenant: billed from here)."
    )
    _row: strawberry.Private[Tenant]

    @strawberry.field(description="The top-up URL template (workspace configuration).")
    def customer_top_up_url(self) -> str | None:
        return self._row.customer_top_up_url

    @strawberry.field(description="Null for the root, and when you cannot see the parent.")
    async def parent(self, info: Info) -> "TenantType | None":
        if self._row.parent_id is None:
            return None
        row = await info.context.loaders.tenant_by_id.load(self._row.parent_id)
        return None if row is None else to_gql_tenant(row)

    @strawberry.field(description="Direct sub-tenants, oldest first.")
    async def sub_tenants(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection["TenantType"]:
        return await child_connection(
            info.context.settings,
            info.context.loaders.sub_tenant_page,
            info.context.loaders.sub_tenant_count,
            self.id,
            to_gql_tenant,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Users of this tenant, oldest first.")
    async def users(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[UserRef]:
        from tenantry.api.types.user import to_gql_user

        return await child_connection(
            info.context.settings,
            info.context.loaders.user_page,
            info.context.loaders.user_count,
            self.id,
            to_gql_user,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="What the parent charges for this tenant's usage (readable by the tenant, "
        "read-only, with its owner null); null = free."
    )
    async def tenant_tariff(self, info: Info) -> TariffRef | None:
        return await _tariff(info, self._row.tenant_tariff_id)

    @strawberry.field(
        description="Given to new customers that name no tariff (readable by the tenant, "
        "read-only, when a tenant above owns it)."
    )
    async def default_customer_tariff(self, info: Info) -> TariffRef | None:
        return await _tariff(info, self._row.default_customer_tariff_id)

    @strawberry.field(description="Tariffs this tenant owns (and charges by).")
    async def tariffs(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[TariffRef]:
        from tenantry.api.types.catalog import to_gql_tariff

        return await child_connection(
            info.context.settings,
            info.context.loaders.tariff_page,
            info.context.loaders.tariff_count,
            self.id,
            to_gql_tariff,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Effective: granted directly, plus the parent's when inherited.")
    async def sponsor_operators(self, info: Info) -> list[OperatorRef]:
        from tenantry.api.types.catalog import to_gql_operator

        loaders = info.context.loaders
        ids = await loaders.effective_operator_ids.load(self.id)
        rows = await loaders.sponsor_operator_by_id.load_many(ids)
        return sorted((to_gql_operator(r) for r in rows if r is not None), key=lambda o: o.name)

    @strawberry.field(description="This tenant's own account.")
    async def account(self, info: Info) -> AccountRef:
        from tenantry.api.types.account import to_gql_account

        row = await info.context.loaders.tenant_account.load(self.id)
        assert row is not None  # every tenant has one
        return to_gql_account(row)

    @strawberry.field(description="Its own customers (not those of sub-tenants), oldest first.")
    async def customers(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[CustomerRef]:
        from tenantry.api.types.customer import to_gql_customer

        return await child_connection(
            info.context.settings,
            info.context.loaders.customer_page,
            info.context.loaders.customer_count,
            self.id,
            to_gql_customer,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Usage in [from, to), with what it cost and earned.")
    async def usage(
        self,
        info: Info,
        from_: FromArg,
        to: ToArg,
        include_descendants: Annotated[
            bool,
            strawberry.argument(
                description="True (the default): its customers' usage and its whole "
                "sub-tree's; false: its own customers' only."
            ),
        ] = True,
    ) -> UsageSummaryRef:
        from tenantry.api.types.usage import usage_summary
        from tenantry.usage.repository import UsageOwner

        return usage_summary(
            UsageOwner("tenant", self.id, include_descendants, self.depth),
            self.currency,
            from_,
            to,
        )

    @strawberry.field(description="The reports section: usage reports, newest first.")
    async def reports(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[UsageReportRef]:
        from tenantry.api.types.report import to_gql_report

        return await child_connection(
            info.context.settings,
            info.context.loaders.report_page,
            info.context.loaders.report_count,
            self.id,
            to_gql_report,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="The legal entity issuing its invoices (a managed tenant: its partner's)."
    )
    async def billing_entity(self, info: Info) -> BillingEntityRef | None:
        from tenantry.api.types.partner import to_gql_billing_entity

        if self._row.billing_entity_id is None:
            return None
        row = await info.context.loaders.billing_entity_by_id.load(self._row.billing_entity_id)
        return None if row is None else to_gql_billing_entity(row)

    @strawberry.field(description="A managed tenant's plan tier, from its partner's catalog.")
    async def tenant_plan(self, info: Info) -> PlanRef | None:
        return await _current_plan(info, self, PlanKind.TENANT)

    @strawberry.field(description="A managed tenant's support tier, from its partner's catalog.")
    async def support_plan(self, info: Info) -> PlanRef | None:
        return await _current_plan(info, self, PlanKind.SUPPORT)

    @strawberry.field(description="Null unless this is a partner and you are its admin.")
    async def managed_tenants(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection["TenantType"] | None:
        if not info.context.actor.lists_managed_tenants_of(self.id):
            return None
        return await child_connection(
            info.context.settings,
            info.context.loaders.managed_page,
            info.context.loaders.managed_count,
            self.id,
            to_gql_tenant,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="A partner's plan catalog of one kind, cheapest first.")
    async def plan_catalog(
        self,
        info: Info,
        kind: Annotated[PlanKind, strawberry.argument(description="Which tier's plans.")],
    ) -> list[PlanRef]:
        from tenantry.api.types.partner import to_gql_plan

        rows = await info.context.loaders.plan_catalog.load((self.id, kind))
        return [to_gql_plan(row) for row in rows]

    @strawberry.field(
        description="Changes made here, newest first; for admins of this tenant and above."
    )
    async def audit_events(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[AuditEventRef]:
        from tenantry.api.types.audit import to_gql_audit_event

        context = info.context
        # Viewers (and partners looking at a billing face) get an empty log.
        owner = self.id if context.actor.reads_audit_log_of(self._row) else UNKNOWN_ID
        return await child_connection(
            context.settings,
            context.loaders.audit_page,
            context.loaders.audit_count,
            owner,
            to_gql_audit_event,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="A partner's invoices, newest first.")
    async def invoices(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[InvoiceRef]:
        from tenantry.api.types.invoice import to_gql_invoice

        return await child_connection(
            info.context.settings,
            info.context.loaders.invoice_page,
            info.context.loaders.invoice_count,
            self.id,
            to_gql_invoice,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Each inherited setting with where its value comes from (those of its "
        "fields you can see)."
    )
    async def setting_sources(self, info: Info) -> list["SettingSourceType"]:
        lineage = await info.context.loaders.lineage.load(self.id)
        scope = info.context.actor.scope
        return [
            SettingSourceType(
                name=s.name,
                value=s.value,
                inherited=s.inherited_by(self._row),
                locked=s.locked,
                _source_id=s.source_id,
            )
            for s in setting_sources(self._row, lineage)
            # A setting shows where the field it describes shows.
            if scope.sees_field_of(self._row, to_snake_case(s.name))
        ]


@strawberry.type(
    name="SettingSource", description="An inherited setting and where its value comes from."
)
class SettingSourceType:
    name: str = strawberry.field(
        description="currency, customerTopUpUrl, sponsorOperators or billingEntity."
    )
    value: str | None = strawberry.field(
        description="The value in force, as text: the currency code, the top-up URL template, "
        '"own grants" or "own grants and the parent\'s", the billing entity\'s number (not '
        "a global id); null when unset."
    )
    inherited: bool = strawberry.field(description="False: the tenant's own value.")
    locked: bool = strawberry.field(
        description="True: no mutation can change it (managed tenants)."
    )
    _source_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The tenant the value comes from; null when none, or one you cannot see."
    )
    async def source(self, info: Info) -> TenantType | None:
        if self._source_id is None:
            return None
        row = await info.context.loaders.tenant_by_id.load(self._source_id)
        return None if row is None else to_gql_tenant(row)


async def _current_plan(info: Info, tenant: TenantType, kind: PlanKind) -> "PlanType | None":
    from tenantry.api.types.partner import to_gql_plan

    if tenant.kind is not TenantKind.MANAGED:
        return None
    plan_id = (await info.context.loaders.current_plans.load(tenant.id)).get(kind)
    row = None if plan_id is None else await info.context.loaders.plan_by_id.load(plan_id)
    return None if row is None else to_gql_plan(row)


async def _tariff(info: Info, tariff_id: int | None) -> "TariffType | None":
    from tenantry.api.types.catalog import to_gql_tariff

    if tariff_id is None:
        return None
    row = await info.context.loaders.tariff_by_id.load(tariff_id)
    return None if row is None else to_gql_tariff(row)


def to_gql_tenant(row: Tenant) -> TenantType:
    return TenantType(
        id=row.id,
        name=row.name,
        moniker=row.moniker,
        kind=row.kind,
        depth=row.depth,
        is_partner=row.is_partner,
        subscription_types=[SubscriptionType(t) for t in row.subscription_types],
        inherit_sponsor_operators=row.inherit_sponsor_operators,
        currency=row.currency,
        country=row.country,
        partner_access=row.partner_access,
        created_at=row.created_at,
        _row=row,
    )


# Every field outside BILLING_FACE answers as for no tenant where only the face shows.
hide_outside_billing_face(TenantType, to_gql_tenant)

"""Customers and endpoints."""

import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, child_connection
from tenantry.api.types.catalog import (
    SponsorOperatorType,
    TariffType,
    to_gql_operator,
    to_gql_tariff,
)
from tenantry.api.types.enums import SubscriptionType
from tenantry.api.types.usage import FromArg, ToArg
from tenantry.customers.models import Customer, Endpoint
from tenantry.customers.topup import render_top_up_url
from tenantry.ledger.money import quantize_money

if TYPE_CHECKING:
    from tenantry.api.types.account import AccountType
    from tenantry.api.types.tenant import TenantType
    from tenantry.api.types.usage import UsageSummary

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]
UsageSummaryRef = Annotated["UsageSummary", strawberry.lazy("tenantry.api.types.usage")]
AccountRef = Annotated["AccountType", strawberry.lazy("tenantry.api.types.account")]


@strawberry.type(
    name="Customer",
    description="A customer of a tenant, with its own account and endpoints (SIMs, devices).",
)
class CustomerType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Up to 200 characters.")
    subscription_type: SubscriptionType = strawberry.field(
        description="One of the types its tenant offers."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    _row: strawberry.Private[Customer]

    @strawberry.field(description="The tenant it is a customer of.")
    async def tenant(self, info: Info) -> TenantRef:
        from tenantry.api.types.tenant import to_gql_tenant

        row = await info.context.loaders.tenant_by_id.load(self._row.tenant_id)
        assert row is not None  # a customer is only visible when its tenant is
        return to_gql_tenant(row)

    @strawberry.field(
        description="What the customer pays (read-only when a tenant above owns it); "
        "null when it is free."
    )
    async def tariff(self, info: Info) -> TariffType | None:
        if self._row.tariff_id is None:
            return None
        row = await info.context.loaders.tariff_by_id.load(self._row.tariff_id)
        return None if row is None else to_gql_tariff(row)

    @strawberry.field(
        description="The customer's own account, in its tenant's currency: what it pays from."
    )
    async def account(self, info: Info) -> AccountRef:
        from tenantry.api.types.account import to_gql_account

        row = await info.context.loaders.account_by_id.load(self._row.account_id)
        assert row is not None
        return to_gql_account(row)

    @strawberry.field(description="The tenant's (or nearest ancestor's) top-up URL, filled in.")
    async def top_up_url(self, info: Info) -> str | None:
        loaders = info.context.loaders
        template = await loaders.top_up_template.load(self._row.tenant_id)
        if template is None:
            return None
        tenant = await loaders.tenant_by_id.load(self._row.tenant_id)
        account = await loaders.account_by_id.load(self._row.account_id)
        assert tenant is not None and account is not None and account.balance is not None
        ttl = info.context.settings.top_up_link_ttl_seconds
        return render_top_up_url(
            template,
            {
                "customer_id": str(relay.to_base64("Customer", self.id)),
                "customer_name": self.name,
                "tenant_id": str(relay.to_base64("Tenant", tenant.id)),
                "tenant_moniker": tenant.moniker,
                "account_id": str(relay.to_base64("Account", account.id)),
                "balance": str(quantize_money(account.balance, account.currency)),
                "currency": account.currency,
            },
            expires=int(time.time()) + ttl,
        )

    @strawberry.field(description="Its endpoints (SIMs, devices), oldest first.")
    async def endpoints(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection["EndpointType"]:
        return await child_connection(
            info.context.settings,
            info.context.loaders.endpoint_page,
            info.context.loaders.endpoint_count,
            self.id,
            to_gql_endpoint,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Usage in [from, to) and what this customer was charged.")
    async def usage(self, info: Info, from_: FromArg, to: ToArg) -> UsageSummaryRef:
        return await _usage(info, "customer", self.id, self._row.tenant_id, since=from_, until=to)


async def _usage(
    info: Info, kind: str, owner_id: int, tenant_id: int, *, since: datetime, until: datetime
) -> "UsageSummary":
    from tenantry.api.types.usage import usage_summary
    from tenantry.usage.repository import UsageOwner

    tenant = await info.context.loaders.tenant_by_id.load(tenant_id)
    assert tenant is not None
    return usage_summary(UsageOwner(kind, owner_id), tenant.currency, since, until)


def to_gql_customer(row: Customer) -> CustomerType:
    return CustomerType(
        id=row.id,
        name=row.name,
        subscription_type=row.subscription_type,
        created_at=row.created_at,
        _row=row,
    )


@strawberry.type(name="Endpoint", description="A SIM or device of a customer.")
class EndpointType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Up to 200 characters.")
    iccid: str = strawberry.field(
        description="The SIM's ICCID: 18-22 digits starting with 89, unique on the platform."
    )
    created_at: datetime = strawberry.field(
        description="When it was added; monthly fees are prorated from here."
    )
    _row: strawberry.Private[Endpoint]

    @strawberry.field(description="The customer it belongs to.")
    async def customer(self, info: Info) -> CustomerType:
        row = await info.context.loaders.customer_by_id.load(self._row.customer_id)
        assert row is not None
        return to_gql_customer(row)

    @strawberry.field(description="The operator it uses, one available to its customer's tenant.")
    async def sponsor_operator(self, info: Info) -> SponsorOperatorType:
        row = await info.context.loaders.sponsor_operator_by_id.load(self._row.sponsor_operator_id)
        assert row is not None
        return to_gql_operator(row)

    @strawberry.field(description="Usage in [from, to) and what its customer was charged.")
    async def usage(self, info: Info, from_: FromArg, to: ToArg) -> UsageSummaryRef:
        return await _usage(info, "endpoint", self.id, self._row.tenant_id, since=from_, until=to)


def to_gql_endpoint(row: Endpoint) -> EndpointType:
    return EndpointType(
        id=row.id, name=row.name, iccid=row.iccid, created_at=row.created_at, _row=row
    )

"""Partner invoices and their lines."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.types.account import AccountTransactionType, to_gql_posting
from tenantry.api.types.money import Money, to_money
from tenantry.api.types.partner import (
    BillingEntityType,
    PlanType,
    to_gql_billing_entity,
    to_gql_plan,
)
from tenantry.partners.models import Invoice, InvoiceLine

if TYPE_CHECKING:
    from tenantry.api.types.tenant import TenantType

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]


@strawberry.type(
    name="InvoiceLine",
    description="One managed tenant on one plan for part of the period, prorated by the second.",
)
class InvoiceLineType:
    description: str = strawberry.field(
        description="For people: the managed tenant, the plan and kind, and the span billed."
    )
    period_start: datetime = strawberry.field(
        description="Start of the span billed, inclusive: within the invoice's period."
    )
    period_end: datetime = strawberry.field(description="End of the span billed, exclusive.")
    _row: strawberry.Private[InvoiceLine]
    _currency: strawberry.Private[str]  # the invoice's: a line has no currency of its own

    @strawberry.field(description="In the invoice's currency.")
    def amount(self) -> Money:
        return to_money(self._row.amount, self._currency)

    @strawberry.field(description="Null when you cannot see the managed tenant.")
    async def managed_tenant(self, info: Info) -> TenantRef | None:
        from tenantry.api.types.tenant import to_gql_tenant

        if self._row.managed_tenant_id is None:
            return None
        row = await info.context.loaders.tenant_by_id.load(self._row.managed_tenant_id)
        return None if row is None else to_gql_tenant(row)

    @strawberry.field(description="Null when the plan is gone or you cannot see it.")
    async def plan(self, info: Info) -> PlanType | None:
        if self._row.plan_id is None:
            return None
        row = await info.context.loaders.plan_by_id.load(self._row.plan_id)
        return None if row is None else to_gql_plan(row)


def to_gql_invoice_line(row: InvoiceLine, currency: str) -> InvoiceLineType:
    return InvoiceLineType(
        description=row.description,
        period_start=row.period_start,
        period_end=row.period_end,
        _row=row,
        _currency=currency,
    )


@strawberry.type(
    name="Invoice",
    description="What a partner owes for its managed tenants' plans over a billing period.",
)
class InvoiceType(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(
        description='"<billing entity code>-<year issued, UTC>-<sequence>", e.g. '
        '"PLT-2026-000042": gapless per billing entity and year.'
    )
    period_start: datetime = strawberry.field(description="Start of the period, inclusive.")
    period_end: datetime = strawberry.field(description="Exclusive.")
    created_at: datetime = strawberry.field(description="When it was made (as issuedAt).")
    issued_at: datetime = strawberry.field(description="When it was made and its fee posted.")
    _row: strawberry.Private[Invoice]

    @strawberry.field(description="The partner billed.")
    async def tenant(self, info: Info) -> TenantRef:
        from tenantry.api.types.tenant import to_gql_tenant

        row = await info.context.loaders.tenant_by_id.load(self._row.tenant_id)
        assert row is not None  # an invoice is only visible when its partner is
        return to_gql_tenant(row)

    @strawberry.field(description="The legal entity issuing the invoice.")
    async def billing_entity(self, info: Info) -> BillingEntityType:
        row = await info.context.loaders.billing_entity_by_id.load(self._row.billing_entity_id)
        assert row is not None  # a foreign key, and the catalog is public
        return to_gql_billing_entity(row)

    @strawberry.field(
        description="By managed tenant (name), then TENANT before SUPPORT, then time."
    )
    async def lines(self, info: Info) -> list[InvoiceLineType]:
        rows = await info.context.loaders.invoice_lines.load(self.id)
        return [to_gql_invoice_line(row, self._row.currency) for row in rows]

    @strawberry.field(description="The sum of the lines, each rounded once.")
    def total(self) -> Money:
        return to_money(self._row.total, self._row.currency)

    @strawberry.field(
        description="The PLAN_FEE that debited the partner's account by the total; null for a "
        "zero invoice (nothing moved), or when you cannot see the partner's account."
    )
    async def transaction(self, info: Info) -> AccountTransactionType | None:
        if self._row.posting_id is None:
            return None
        row = await info.context.loaders.posting_by_id.load(self._row.posting_id)
        return None if row is None else to_gql_posting(row)


def to_gql_invoice(row: Invoice) -> InvoiceType:
    return InvoiceType(
        id=row.id,
        number=row.number,
        period_start=row.period_start,
        period_end=row.period_end,
        created_at=row.created_at,
        issued_at=row.created_at,
        _row=row,
    )

"""Generating partner invoices."""

from datetime import datetime

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.invoice import InvoiceType, to_gql_invoice
from tenantry.partners import invoice_service
from tenantry.partners.invoice_service import InvoiceRequest


@strawberry.input
class GenerateInvoiceInput:
    partner_id: strawberry.ID
    period_start: datetime
    period_end: datetime = strawberry.field(description="Exclusive; must have passed.")


@strawberry.type
class InvoicePayload:
    invoice: InvoiceType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="Invoice a partner for a period that has ended. The same period again "
        "returns the same invoice; a period overlapping another invoice is refused."
    )
    async def generate_invoice(self, info: Info, input: GenerateInvoiceInput) -> InvoicePayload:
        request = InvoiceRequest(
            decode_id(input.partner_id, "Tenant"), input.period_start, input.period_end
        )
        return await mutate(
            info,
            lambda session, actor: invoice_service.generate_invoice(session, actor, request),
            lambda row: InvoicePayload(invoice=to_gql_invoice(row)),
            InvoicePayload,
        )

"""Generating partner invoices."""

from datetime import datetime

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.invoice import InvoiceType, to_gql_invoice
from tenantry.partners import invoice_service
from tenantry.partners.invoice_service import InvoiceRequest


@strawberry.input(description="Which partner to invoice, for which period.")
class GenerateInvoiceInput:
    partner_id: strawberry.ID = strawberry.field(
        description="A partner: yours (as its admin) or one below your tenant."
    )
    period_start: datetime = strawberry.field(description="Start of the period, inclusive.")
    period_end: datetime = strawberry.field(description="Exclusive; must have passed.")


@strawberry.type(description="What generateInvoice answers: the invoice, or why not.")
class InvoicePayload:
    invoice: InvoiceType | None = strawberry.field(
        default=None,
        description="The period's invoice (the same one when it was made before); null when "
        "refused.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="Invoice a partner for a period that has ended (admins of the partner or "
        "above). The same period again "
        "returns the same invoice; a period overlapping another invoice is refused."
    )
    async def generate_invoice(
        self, info: Info, input: Input[GenerateInvoiceInput]
    ) -> InvoicePayload:
        request = InvoiceRequest(
            decode_id(input.partner_id, "Tenant"), input.period_start, input.period_end
        )
        return await mutate(
            info,
            lambda session, actor: invoice_service.generate_invoice(session, actor, request),
            lambda row: InvoicePayload(invoice=to_gql_invoice(row)),
            InvoicePayload,
        )

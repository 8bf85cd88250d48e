"""Rules for partner invoices: who may invoice, which periods, and what each line bills.

A partner pays for its managed tenants' plans: one line per managed tenant and plan
period overlapping the billing period, prorated by the second against calendar months
(see proration.py), in the partner's currency, issued by its billing entity. The same
period twice is the same invoice; overlapping periods would bill twice and are refused.

Issuing moves the money in the same transaction: a PLAN_FEE debits the partner's account
and credits the platform's REVENUE account in that currency. Like usage, a plan fee always
posts (the plans were used): it may take the partner past its credit limit, and only the
balance bound (ledger/limits.py) refuses it. Each invoice takes the next number of its
billing entity and year (invoice_repository.next_number), gapless.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode, Problems
from tenantry.core.periods import END_FIELD, START_FIELD, check_ended_period, span_text
from tenantry.db.engine import Database
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import MAX_INVOICE_TOTAL
from tenantry.ledger.models import SystemPurpose, TransactionKind
from tenantry.partners import invoice_repository as repo
from tenantry.partners.invoice_repository import BillablePeriod
from tenantry.partners.models import Invoice, InvoiceLine
from tenantry.partners.proration import overlap, previous_month, prorated_amount
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import Tenant

log = logging.getLogger(__name__)

PARTNER_FIELD = ("input", "partnerId")


@dataclass(frozen=True)
class InvoiceRequest:
    partner_id: int
    period_start: datetime
    period_end: datetime


class InvoiceRunFailed(Exception):
    """Some partners of a monthly run were not invoiced (each failure is logged)."""

    def __init__(self, partner_ids: list[int]) -> None:
        super().__init__(f"Invoicing failed for partners {partner_ids}")
        self.partner_ids = partner_ids


async def generate_invoice(
    session: AsyncSession,
    principal: Principal,
    request: InvoiceRequest,
    *,
    now: datetime | None = None,
) -> Invoice:
    """An admin of the partner (or of a tenant above it) invoices a period that has ended."""
    partner = await tenants_repo.get(session, principal.scope, request.partner_id)
    if partner is None:
        raise tenant_not_found(PARTNER_FIELD)
    principal.require_admin()
    problems = Problems()
    _check_partner(problems, partner)
    check_ended_period(
        problems, request.period_start, request.period_end, now or datetime.now(UTC), "invoiced"
    )
    problems.raise_if_any()
    return await invoice_partner(
        session,
        partner,
        request.period_start.astimezone(UTC),
        request.period_end.astimezone(UTC),
        actor=principal,
    )


async def invoice_partner(
    session: AsyncSession,
    partner: Tenant,
    start: datetime,
    end: datetime,
    *,
    actor: Principal | None = None,
) -> Invoice:
    """The partner's invoice for [start, end), numbered and posted: made on the first call,
    returned as it is (nothing written) on every later one. The caller has checked who asks
    (``actor``; None for the monthly run) and the period."""
    problems = Problems()
    billing_entity_id = _check_partner(problems, partner)
    problems.raise_if_any()
    assert billing_entity_id is not None  # _check_partner reported it otherwise
    # Concurrent runs for one partner take turns from here; the second then finds the
    # first one's invoice (each statement sees what committed before it began).
    await repo.lock_partner(session, partner.id)
    existing = await repo.invoice_for_period(session, partner.id, start, end)
    if existing is not None:
        return existing
    clash = await repo.overlapping_invoice(session, partner.id, start, end)
    if clash is not None:
        raise DomainError.one(
            ErrorCode.INVALID,
            "This period overlaps the invoice for "
            f"{span_text(clash.period_start, clash.period_end)}.",
            START_FIELD,
        )
    lines = [
        line
        for billable in await repo.billable_periods(session, partner.id, start, end)
        if (line := _line(partner, billable, start, end)) is not None
    ]
    total = sum((line.amount for line in lines), Decimal(0))
    if total > MAX_INVOICE_TOTAL:
        raise DomainError.one(
            ErrorCode.LIMIT_EXCEEDED,
            f"This invoice would pass {MAX_INVOICE_TOTAL:f}; invoice a shorter period.",
            END_FIELD,
        )
    code, year, sequence = await repo.next_number(session, billing_entity_id)
    number = f"{code}-{year}-{sequence:06d}"
    # A zero invoice moves nothing: it has no fee and no transaction.
    posting_id = (
        None if total == 0 else await _post_plan_fee(session, partner, number, total, actor)
    )
    invoice = Invoice(
        tenant_id=partner.id,
        billing_entity_id=billing_entity_id,
        period_start=start,
        period_end=end,
        currency=partner.currency,
        total=total,
        number=number,
        posting_id=posting_id,
    )
    await repo.add_invoice(session, invoice, lines)
    return invoice


async def _post_plan_fee(
    session: AsyncSession, partner: Tenant, number: str, total: Decimal, actor: Principal | None
) -> int:
    """Debit the partner and credit the platform's revenue; the partner's posting id."""
    account = await ledger_repo.tenant_account(session, partner.id)
    root = await tenants_repo.get_root(session)
    assert account is not None and root is not None, "every tenant has an account and a root"
    revenue = await ledger.system_account(
        session, root_tenant_id=root.id, purpose=SystemPurpose.REVENUE, currency=partner.currency
    )
    kind = TransactionKind.PLAN_FEE
    # No idempotency key: the invoice is the key (one per partner and period, under the
    # partner's lock), and this posting is made only with it.
    transaction = await ledger.post_transfer(
        session,
        tenant_id=root.id,
        kind=kind,
        legs=[ledger.Leg(account.id, -total, kind), ledger.Leg(revenue.id, total, kind)],
        description=f"Invoice {number}",
        reference=number,
        actor_user_id=None if actor is None else actor.user_id,
        impersonated_tenant_id=None if actor is None else actor.impersonated_tenant_id,
        limit_field=PARTNER_FIELD,
    )
    posting = await ledger_repo.posting_of(session, transaction.id, account.id)
    return posting.id


async def invoice_previous_month(db: Database, at: datetime) -> None:
    """The monthly run: every partner with a billing entity, for the calendar month before
    ``at``. One transaction per partner, so one partner's failure holds up nobody else's
    invoice; a rerun is safe (invoiced partners get their existing invoice back)."""
    start, end = previous_month(at)
    async with db.read() as session:
        partners = await repo.invoiceable_partners(session)
    failed: list[int] = []
    for partner in partners:
        try:
            async with db.write() as session:
                await invoice_partner(session, partner, start, end)
        except Exception:
            log.exception("Invoicing partner %s for %s to %s failed", partner.id, start, end)
            failed.append(partner.id)
    if failed:
        raise InvoiceRunFailed(failed)


def _check_partner(problems: Problems, partner: Tenant) -> int | None:
    """The billing entity that issues the partner's invoices, or None (problem reported)."""
    if not partner.is_partner:
        problems.add(ErrorCode.NOT_PARTNER, "This tenant is not a partner.", PARTNER_FIELD)
        return None
    if partner.billing_entity_id is None:
        problems.add(ErrorCode.INVALID, "This partner has no billing entity.", PARTNER_FIELD)
    return partner.billing_entity_id


def _line(
    partner: Tenant, billable: BillablePeriod, start: datetime, end: datetime
) -> InvoiceLine | None:
    period, plan, managed = billable
    span = overlap(start, end, period.started_at, period.ended_at)
    if span is None:  # a period that ended the second it began bills nothing
        return None
    line_start, line_end = span
    return InvoiceLine(
        tenant_id=partner.id,
        managed_tenant_id=managed.id,
        plan_id=plan.id,
        description=(
            f"{managed.name} — {plan.name} ({period.kind} plan), {span_text(line_start, line_end)}"
        ),
        period_start=line_start,
        period_end=line_end,
        amount=prorated_amount(plan.monthly_price, line_start, line_end, partner.currency),
    )

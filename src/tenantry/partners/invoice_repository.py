"""All SQL about partner invoices: what they bill, the invoices themselves, their lines."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.partners.models import (
    BillingEntity,
    Invoice,
    InvoiceLine,
    InvoiceNumberCounter,
    Plan,
    PlanKind,
    PlanPeriod,
)
from tenantry.tenants.models import Tenant


class BillablePeriod(NamedTuple):
    period: PlanPeriod
    plan: Plan
    managed_tenant: Tenant


async def lock_partner(session: AsyncSession, partner_id: int) -> None:
    """Serialize invoice runs of one partner until the transaction ends (across processes).

    The key is a hash of a namespaced name, so other advisory locks on other ids never
    collide with it (a hash collision would only make two partners' runs take turns)."""
    key = sa.func.hashtextextended(sa.literal(f"partner-invoices:{partner_id}"), 0)
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def invoiceable_partners(session: AsyncSession) -> list[Tenant]:
    """Every partner with a billing entity: the monthly run's list (it acts for the platform)."""
    stmt = (
        sa.select(Tenant)
        .where(Tenant.is_partner.is_(True), Tenant.billing_entity_id.is_not(None))
        .order_by(Tenant.id)
    )
    return list((await session.scalars(stmt)).all())


async def invoice_for_period(
    session: AsyncSession, partner_id: int, start: datetime, end: datetime
) -> Invoice | None:
    stmt = sa.select(Invoice).where(
        Invoice.tenant_id == partner_id, Invoice.period_start == start, Invoice.period_end == end
    )
    return await session.scalar(stmt)


async def overlapping_invoice(
    session: AsyncSession, partner_id: int, start: datetime, end: datetime
) -> Invoice | None:
    stmt = (
        sa.select(Invoice)
        .where(
            Invoice.tenant_id == partner_id,
            Invoice.period_start < end,
            Invoice.period_end > start,
        )
        .order_by(Invoice.period_start)
        .limit(1)
    )
    return await session.scalar(stmt)


async def billable_periods(
    session: AsyncSession, partner_id: int, start: datetime, end: datetime
) -> list[BillablePeriod]:
    """The partner's plan periods overlapping [start, end), in invoice line order: managed
    tenant (name, id), then TENANT before SUPPORT, then time."""
    kind_order = sa.case((PlanPeriod.kind == PlanKind.TENANT, 0), else_=1)
    stmt = (
        sa.select(PlanPeriod, Plan, Tenant)
        .join(Plan, Plan.id == PlanPeriod.plan_id)
        .join(Tenant, Tenant.id == PlanPeriod.managed_tenant_id)
        .where(
            PlanPeriod.tenant_id == partner_id,
            PlanPeriod.started_at < end,
            sa.or_(PlanPeriod.ended_at.is_(None), PlanPeriod.ended_at > start),
        )
        .order_by(Tenant.name, Tenant.id, kind_order, PlanPeriod.started_at)
    )
    return [BillablePeriod(*row) for row in (await session.execute(stmt)).all()]


async def next_number(session: AsyncSession, billing_entity_id: int) -> tuple[str, int, int]:
    """(entity code, year, sequence) for the entity's next invoice this year (UTC).

    The counter row is incremented in place and stays locked until the transaction ends:
    concurrent invoices of the entity queue here, and a rollback returns the number, so
    numbers are gapless. The year is the transaction's, as is the invoice's created_at."""
    year = sa.cast(sa.extract("year", sa.func.timezone("UTC", sa.func.now())), sa.Integer)
    entity = sa.select(BillingEntity.tenant_id, BillingEntity.id, year, sa.literal(1)).where(
        BillingEntity.id == billing_entity_id
    )
    insert = pg_insert(InvoiceNumberCounter).from_select(
        ["tenant_id", "billing_entity_id", "year", "last_number"], entity
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[InvoiceNumberCounter.billing_entity_id, InvoiceNumberCounter.year],
        set_={"last_number": InvoiceNumberCounter.last_number + 1},
    ).returning(InvoiceNumberCounter.year, InvoiceNumberCounter.last_number)
    counted_year, number = (await session.execute(stmt)).one()
    code = await session.scalar(
        sa.select(BillingEntity.code).where(BillingEntity.id == billing_entity_id)
    )
    assert code is not None, "the counter was made for this entity"
    return code, counted_year, number


async def add_invoice(
    session: AsyncSession, invoice: Invoice, lines: Sequence[InvoiceLine]
) -> None:
    # Should a writer ever skip the advisory lock, uq_invoices_period still refuses a
    # second invoice for the same period: that transaction fails instead of billing twice.
    session.add(invoice)
    await session.flush()
    for line in lines:
        line.invoice_id = invoice.id
    session.add_all(lines)
    await session.flush()


def invoice_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on invoices: those of partners in scope (both read paths)."""
    return scope.billing_of(Invoice.tenant_id)


def line_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on invoice lines: those of invoices of partners in scope."""
    return scope.billing_of(InvoiceLine.tenant_id)


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Invoice]:
    stmt = sa.select(Invoice).where(any_of(Invoice.id, ids), invoice_filter(scope))
    return list((await session.scalars(stmt)).all())


async def pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Invoice]]:
    return await pages_by_key(
        session,
        Invoice,
        Invoice.tenant_id,
        tenant_ids,
        page,
        invoice_filter(scope),
        descending=True,
    )


async def counts(session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]) -> dict[int, int]:
    return await counts_by_key(session, Invoice.tenant_id, tenant_ids, invoice_filter(scope))


async def lines_of(
    session: AsyncSession, scope: Scope, invoice_ids: Sequence[int]
) -> dict[int, list[InvoiceLine]]:
    """Each invoice's lines, in the order they were billed."""
    stmt = (
        sa.select(InvoiceLine)
        .where(any_of(InvoiceLine.invoice_id, invoice_ids), line_filter(scope))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.id)
    )
    grouped: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in (await session.scalars(stmt)).all():
        grouped[line.invoice_id].append(line)
    return grouped

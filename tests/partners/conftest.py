"""Partners, plan catalogs and managed tenants' plan periods, written straight to the
database (as the managed-tenant service records them), for invoice tests."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger.models import Account, LedgerTransaction, SystemPurpose, TransactionKind
from tenantry.partners import invoice_service
from tenantry.partners import repository as partners_repo
from tenantry.partners.invoice_service import InvoiceRequest
from tenantry.partners.models import BillingEntity, Invoice, InvoiceLine, Plan, PlanKind, PlanPeriod
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.models import SubscriptionType, Tenant, TenantKind
from tests.fixtures.factories import (
    Actor,
    create_actor,
    create_platform,
    create_tenant,
    platform_principal,
)

TENANT, SUPPORT = PlanKind.TENANT, PlanKind.SUPPORT
# "Now" for invoices of 2026 periods that, on the test machine's clock, may not have ended.
LATER = datetime(2027, 6, 1, tzinfo=UTC)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _every_test_leaves_the_ledger_balanced(ledger_stays_balanced: None) -> None:
    """Invoices post plan fees: see tests/fixtures/money.py."""


@dataclass(frozen=True)
class Platform:
    root: Tenant
    admin: Actor

    @property
    def principal(self) -> Principal:
        return platform_principal(self.root, self.admin)


@pytest.fixture
async def platform(db: Database) -> Platform:
    return Platform(*await create_platform(db))


async def acting_as(
    db: Database, platform: Platform, tenant: Tenant, role: Role = Role.ADMIN
) -> Principal:
    """A user of ``tenant`` with ``role`` (a real one: a plan fee records who issued it)."""
    actor = await create_actor(db, platform.root, platform.admin, tenant, role)
    return Principal(
        user_id=actor.user.id,
        tenant_id=tenant.id,
        role=role,
        is_platform=False,
        token_id=actor.token_id,
    )


async def make_partner(
    db: Database,
    platform: Platform,
    *,
    parent: Tenant | None = None,
    currency: str = "EUR",
    billing_entity: bool = True,
    entity_id: int | None = None,
) -> Tenant:
    """A partner with a billing entity of its own, or ``entity_id``'s, or (as data from
    before the flag required one) none."""
    tenant = await create_tenant(
        db, platform.root, platform.admin, parent or platform.root, currency=currency
    )
    async with db.write() as session:
        partner = await session.get(Tenant, tenant.id)
        assert partner is not None
        partner.is_partner = True
        if billing_entity and entity_id is None:
            entity = BillingEntity(
                tenant_id=platform.root.id,
                name=f"{tenant.name} GmbH",
                country="DE",
                code=f"E{tenant.id}",
            )
            await partners_repo.add(session, entity)
            entity_id = entity.id
        if billing_entity:
            partner.billing_entity_id = entity_id
    return partner


async def make_plan(db: Database, partner: Tenant, kind: PlanKind, name: str, price: str) -> Plan:
    plan = Plan(
        tenant_id=partner.id,
        kind=kind,
        name=name,
        monthly_price=Decimal(price),
        currency=partner.currency,
    )
    async with db.write() as session:
        await partners_repo.add(session, plan)
    return plan


async def manage(
    db: Database,
    partner: Tenant,
    name: str,
    created_at: datetime,
    tenant_plan: Plan,
    support_plan: Plan,
) -> Tenant:
    """A managed tenant of ``partner``, on its two plans from the second it was created."""
    async with db.write() as session:
        tenant_id = await tenants_repo.next_id(session)
        managed = Tenant(
            id=tenant_id,
            parent_id=partner.id,
            kind=TenantKind.MANAGED,
            name=name,
            moniker=f"{re.sub('[^a-z]', '-', name.lower())}-{tenant_id}",
            path=[*partner.path, tenant_id],
            scope_path=[tenant_id],
            subscription_types=[SubscriptionType.INTEGRATED],
            currency=partner.currency,
            billing_entity_id=partner.billing_entity_id,
            created_at=created_at,
        )
        await tenants_repo.add(session, managed)
        for plan in (tenant_plan, support_plan):
            await partners_repo.add(session, _period(partner, managed, plan, created_at))
    return managed


async def change_plan(
    db: Database, partner: Tenant, managed: Tenant, plan: Plan, at: datetime
) -> None:
    """Close the open period of the plan's kind at ``at`` and open the new plan's there."""
    async with db.write() as session:
        await partners_repo.close_period(session, managed.id, plan.kind, at)
        await partners_repo.add(session, _period(partner, managed, plan, at))


def _period(partner: Tenant, managed: Tenant, plan: Plan, start: datetime) -> PlanPeriod:
    return PlanPeriod(
        tenant_id=partner.id,
        managed_tenant_id=managed.id,
        plan_id=plan.id,
        kind=plan.kind,
        started_at=start,
        ended_at=None,
    )


async def generate(
    db: Database,
    principal: Principal,
    partner: Tenant,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = LATER,
) -> Invoice:
    async with db.write() as session:
        return await invoice_service.generate_invoice(
            session, principal, InvoiceRequest(partner.id, start, end), now=now
        )


async def refused(
    db: Database,
    principal: Principal,
    partner_id: int,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = LATER,
) -> DomainError:
    with pytest.raises(DomainError) as caught:
        async with db.write() as session:
            await invoice_service.generate_invoice(
                session, principal, InvoiceRequest(partner_id, start, end), now=now
            )
    return caught.value


def codes(error: DomainError) -> list[tuple[str | None, ErrorCode]]:
    return [(p.field[-1] if p.field else None, p.code) for p in error.problems]


async def lines_of(db: Database, invoice: Invoice) -> list[InvoiceLine]:
    async with db.read() as session:
        stmt = (
            sa.select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.id)
        )
        return list((await session.scalars(stmt)).all())


async def row_counts(db: Database) -> tuple[int, int]:
    """(invoices, invoice lines) in the whole database."""
    async with db.read() as session:
        invoices = await session.scalar(sa.select(sa.func.count()).select_from(Invoice))
        lines = await session.scalar(sa.select(sa.func.count()).select_from(InvoiceLine))
    return int(invoices or 0), int(lines or 0)


async def revenue(db: Database, currency: str) -> Decimal:
    """What the platform's REVENUE account in ``currency`` holds: the sum of its postings."""
    async with db.read() as session:
        account = await session.scalar(
            sa.select(Account).where(
                Account.system_purpose == SystemPurpose.REVENUE, Account.currency == currency
            )
        )
        return Decimal(0) if account is None else await ledger_repo.posted_sum(session, account.id)


async def plan_fee_count(db: Database) -> int:
    """PLAN_FEE transactions in the whole ledger."""
    async with db.read() as session:
        stmt = sa.select(sa.func.count()).where(LedgerTransaction.kind == TransactionKind.PLAN_FEE)
        return int(await session.scalar(stmt) or 0)

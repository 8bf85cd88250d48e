# Invoice descriptions separate their two times with an en dash.
# ruff: noqa: RUF001
"""generateInvoice's rules: who may, which periods, the same period twice, concurrency."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from tenantry.auth.models import Role
from tenantry.core.errors import ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import MAX_BALANCE
from tenantry.ledger.models import LedgerTransaction, SystemPurpose, TransactionKind
from tenantry.partners import invoice_repository, invoice_service
from tenantry.partners.invoice_repository import BillablePeriod
from tenantry.partners.invoice_service import InvoiceRequest
from tenantry.partners.models import Invoice
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import create_tenant
from tests.partners.conftest import (
    LATER,
    SUPPORT,
    TENANT,
    Platform,
    acting_as,
    at,
    codes,
    generate,
    make_partner,
    make_plan,
    manage,
    plan_fee_count,
    refused,
    row_counts,
)

NOV, DEC = at(2026, 11, 1), at(2026, 12, 1)


async def billed_partner(
    db: Database, platform: Platform, parent: Tenant | None = None, entity_id: int | None = None
) -> Tenant:
    """A partner with one managed tenant on two plans since October: two lines a month
    (30.00 + 3.00 = 33.00 EUR for November)."""
    partner = await make_partner(db, platform, parent=parent, entity_id=entity_id)
    await manage(
        db,
        partner,
        "Hill Farm",
        at(2026, 10, 1),
        await make_plan(db, partner, TENANT, "Gold", "30.00"),
        await make_plan(db, partner, SUPPORT, "Basic", "3.00"),
    )
    return partner


async def test_the_same_period_twice_is_the_same_invoice(db: Database, platform: Platform) -> None:
    partner = await billed_partner(db, platform)
    first = await generate(db, platform.principal, partner, NOV, DEC)
    assert await row_counts(db) == (1, 2)

    # The same instants written with another offset are the same period.
    plus_one = timezone(timedelta(hours=1))
    again = await generate(
        db,
        platform.principal,
        partner,
        datetime(2026, 11, 1, 1, tzinfo=plus_one),
        datetime(2026, 12, 1, 1, tzinfo=plus_one),
    )

    assert again.id == first.id
    assert again.total == first.total
    assert await row_counts(db) == (1, 2)


async def test_a_period_overlapping_another_invoice_is_refused(
    db: Database, platform: Platform
) -> None:
    partner = await billed_partner(db, platform)
    await generate(db, platform.principal, partner, NOV, DEC)

    for start, end in [(at(2026, 11, 15), at(2026, 12, 15)), (at(2026, 10, 1), DEC)]:
        error = await refused(db, platform.principal, partner.id, start, end)
        assert codes(error) == [("periodStart", ErrorCode.INVALID)]
        assert "2026-11-01 00:00 – 2026-12-01 00:00 UTC" in error.problems[0].message
    assert await row_counts(db) == (1, 2)

    # Periods are half-open: the next month touches November but does not overlap it.
    await generate(db, platform.principal, partner, DEC, at(2027, 1, 1))
    assert await row_counts(db) == (2, 4)


async def test_concurrent_calls_for_one_period_make_one_invoice(
    db: Database, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = await billed_partner(db, platform)
    ready = asyncio.Barrier(10)
    read_periods = invoice_repository.billable_periods

    async def slow_billable_periods(*args: Any) -> list[BillablePeriod]:
        # Widen the gap between "is there an invoice yet?" and the insert, so that calls
        # not serialized by the partner lock would all find none and all insert.
        await asyncio.sleep(0.1)
        return await read_periods(*args)

    monkeypatch.setattr(invoice_repository, "billable_periods", slow_billable_periods)

    async def generate_when_all_are_ready() -> Invoice:
        async with db.write() as session:
            # Each call holds its own connection and transaction before any of them starts.
            await session.execute(sa.text("SELECT 1"))
            await ready.wait()
            return await invoice_service.generate_invoice(
                session, platform.principal, InvoiceRequest(partner.id, NOV, DEC), now=LATER
            )

    invoices = await asyncio.gather(*(generate_when_all_are_ready() for _ in range(10)))

    assert len({invoice.id for invoice in invoices}) == 1
    assert await row_counts(db) == (1, 2)


async def test_concurrent_invoices_of_one_entity_are_numbered_without_gaps(
    db: Database, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await billed_partner(db, platform)
    assert first.billing_entity_id is not None
    partners = [first] + [
        await billed_partner(db, platform, entity_id=first.billing_entity_id) for _ in range(7)
    ]
    ready = asyncio.Barrier(len(partners))
    post_transfer = ledger.post_transfer

    async def slow_post_transfer(*args: Any, **kwargs: Any) -> LedgerTransaction:
        # Widen the gap between taking a number and committing it.
        await asyncio.sleep(0.05)
        return await post_transfer(*args, **kwargs)

    monkeypatch.setattr(ledger, "post_transfer", slow_post_transfer)

    async def generate_when_all_are_ready(partner: Tenant) -> Invoice:
        async with db.write() as session:
            await session.execute(sa.text("SELECT 1"))
            await ready.wait()
            return await invoice_service.generate_invoice(
                session, platform.principal, InvoiceRequest(partner.id, NOV, DEC), now=LATER
            )

    invoices = await asyncio.gather(*(generate_when_all_are_ready(p) for p in partners))

    year = invoices[0].created_at.astimezone(UTC).year
    code = f"E{first.id}"
    assert sorted(invoice.number for invoice in invoices) == [
        f"{code}-{year}-{n:06d}" for n in range(1, 9)
    ]
    # Another entity counts on its own.
    other = await billed_partner(db, platform)
    assert (await generate(db, platform.principal, other, NOV, DEC)).number == (
        f"E{other.id}-{year}-000001"
    )


async def test_a_fee_past_the_balance_bound_is_refused_and_gives_its_number_back(
    db: Database, platform: Platform
) -> None:
    deep = await billed_partner(db, platform)
    assert deep.billing_entity_id is not None
    other = await billed_partner(db, platform, entity_id=deep.billing_entity_id)
    # Legal debits took the partner 10 short of the bound; November's 33.00 would pass it.
    async with db.write() as session:
        account = await ledger_repo.tenant_account(session, deep.id)
        adjustments = await ledger.system_account(
            session,
            root_tenant_id=platform.root.id,
            purpose=SystemPurpose.ADJUSTMENTS,
            currency="EUR",
        )
        assert account is not None
        debt = MAX_BALANCE - 10
        await ledger.post_transfer(
            session,
            tenant_id=platform.root.id,
            kind=TransactionKind.DEBIT,
            legs=[
                ledger.Leg(account.id, -debt, TransactionKind.DEBIT),
                ledger.Leg(adjustments.id, debt, TransactionKind.DEBIT),
            ],
        )

    error = await refused(db, platform.principal, deep.id, NOV, DEC)

    assert codes(error) == [("partnerId", ErrorCode.LIMIT_EXCEEDED)]
    assert await row_counts(db) == (0, 0)
    assert await plan_fee_count(db) == 0
    # The refused invoice's number was never taken: the next one of the entity is 1.
    invoice = await generate(db, platform.principal, other, NOV, DEC)
    assert invoice.number == f"E{deep.id}-{invoice.created_at.astimezone(UTC).year}-000001"
    assert invoice.total == Decimal("33.00")


async def test_only_a_partner_with_a_billing_entity_is_invoiced(
    db: Database, platform: Platform
) -> None:
    plain = await create_tenant(db, platform.root, platform.admin, platform.root)
    error = await refused(db, platform.principal, plain.id, NOV, DEC)
    assert codes(error) == [("partnerId", ErrorCode.NOT_PARTNER)]

    no_entity = await make_partner(db, platform, billing_entity=False)
    error = await refused(db, platform.principal, no_entity.id, NOV, DEC)
    assert codes(error) == [("partnerId", ErrorCode.INVALID)]
    assert "has no billing entity" in error.problems[0].message
    assert await row_counts(db) == (0, 0)


async def test_the_period_must_be_given_with_offsets_in_order_and_over(
    db: Database, platform: Platform
) -> None:
    partner = await billed_partner(db, platform)
    naive = datetime(2026, 11, 1)

    cases = [
        ((naive, DEC), [("periodStart", ErrorCode.INVALID)]),
        ((NOV, naive), [("periodEnd", ErrorCode.INVALID)]),
        ((DEC, NOV), [("periodEnd", ErrorCode.INVALID)]),
        ((NOV, NOV), [("periodEnd", ErrorCode.INVALID)]),
    ]
    for (start, end), expected in cases:
        assert codes(await refused(db, platform.principal, partner.id, start, end)) == expected

    # Against the real clock: a period that ends tomorrow has not ended.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    error = await refused(db, platform.principal, partner.id, NOV, tomorrow, now=None)
    assert codes(error) == [("periodEnd", ErrorCode.INVALID)]
    assert await row_counts(db) == (0, 0)


async def test_admins_of_the_partner_and_above_may_invoice(
    db: Database, platform: Platform
) -> None:
    reseller = await create_tenant(db, platform.root, platform.admin, platform.root)
    partner = await billed_partner(db, platform, parent=reseller)

    own = await generate(db, await acting_as(db, platform, partner), partner, NOV, DEC)
    above = await generate(db, await acting_as(db, platform, reseller), partner, NOV, DEC)

    assert above.id == own.id


async def test_viewers_may_not_invoice(db: Database, platform: Platform) -> None:
    partner = await billed_partner(db, platform)
    error = await refused(
        db, await acting_as(db, platform, partner, Role.VIEWER), partner.id, NOV, DEC
    )
    assert codes(error) == [(None, ErrorCode.FORBIDDEN)]
    assert await row_counts(db) == (0, 0)


async def test_an_invisible_partner_is_not_found_like_a_bad_id(
    db: Database, platform: Platform
) -> None:
    partner = await billed_partner(db, platform)
    sibling = await create_tenant(db, platform.root, platform.admin, platform.root)

    unknown = await refused(db, await acting_as(db, platform, sibling), 10**9, NOV, DEC)
    assert codes(unknown) == [("partnerId", ErrorCode.NOT_FOUND)]

    hidden = await refused(db, await acting_as(db, platform, sibling), partner.id, NOV, DEC)
    assert hidden.problems == unknown.problems
    assert await row_counts(db) == (0, 0)


async def test_an_invoice_past_the_total_bound_is_refused(db: Database, platform: Platform) -> None:
    """A century of plans at the largest price: 2 x 1,200 months x 10^12 passes 10^15."""
    partner = await make_partner(db, platform)
    price = "1000000000000"
    await manage(
        db,
        partner,
        "Old Farm",
        at(1926, 1, 1),
        await make_plan(db, partner, TENANT, "Gold", price),
        await make_plan(db, partner, SUPPORT, "Basic", price),
    )
    error = await refused(db, platform.principal, partner.id, at(1926, 1, 1), NOV)
    assert codes(error) == [("periodEnd", ErrorCode.LIMIT_EXCEEDED)]
    assert await row_counts(db) == (0, 0)
    # A shorter period is fine.
    invoice = await generate(db, platform.principal, partner, at(2026, 10, 1), NOV)
    assert invoice.total == 2 * Decimal(price)

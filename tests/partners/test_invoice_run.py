"""The monthly invoice run: a procrastinate periodic job, safe to run twice (one invoice and\none PLAN_FEE per partner and month)."""

from datetime import datetime
from decimal import Decimal

import procrastinate
import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.jobs import run_worker
from tenantry.ledger import repository as ledger_repo
from tenantry.partners.models import Invoice
from tenantry.partners.tasks import INVOICE_PARTNERS
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import create_tenant
from tests.partners.conftest import (
    SUPPORT,
    TENANT,
    Platform,
    at,
    make_partner,
    make_plan,
    manage,
    plan_fee_count,
    revenue,
    row_counts,
)

TASK = f"partners:{INVOICE_PARTNERS}"
# When the schedule fires for November 2026: it bills October.
FIRED = int(at(2026, 11, 1, 1).timestamp())


async def run_monthly_job(jobs: procrastinate.App, db: Database, timestamp: int) -> None:
    await jobs.configure_task(TASK).defer_async(timestamp=timestamp)
    await run_worker(jobs, db, wait=False)


async def invoices(db: Database) -> list[tuple[int, datetime, datetime, Decimal, str]]:
    async with db.read() as session:
        rows = await session.execute(
            sa.select(
                Invoice.tenant_id,
                Invoice.period_start,
                Invoice.period_end,
                Invoice.total,
                Invoice.currency,
            ).order_by(Invoice.tenant_id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def balance(db: Database, tenant: Tenant) -> Decimal | None:
    async with db.read() as session:
        account = await ledger_repo.tenant_account(session, tenant.id)
    assert account is not None
    return account.balance


def test_the_job_is_scheduled_monthly(jobs: procrastinate.App) -> None:
    (periodic,) = [p for key, p in jobs.periodic_registry.periodic_tasks.items() if key[0] == TASK]
    assert periodic.cron == "0 1 1 * *"


async def test_a_second_run_for_the_same_month_creates_nothing(
    db: Database, jobs: procrastinate.App, platform: Platform
) -> None:
    euro = await make_partner(db, platform)
    yen = await make_partner(db, platform, currency="JPY")
    for partner, price, support in ((euro, "30.00", "9.99"), (yen, "1001", "333")):
        await manage(
            db,
            partner,
            "Farm",
            at(2026, 9, 1),
            await make_plan(db, partner, TENANT, "Plan", price),
            await make_plan(db, partner, SUPPORT, "Support", support),
        )
    # Not invoiced: a partner without a billing entity, and a tenant that is no partner.
    await make_partner(db, platform, billing_entity=False)
    await create_tenant(db, platform.root, platform.admin, platform.root)

    await run_monthly_job(jobs, db, FIRED)
    await run_monthly_job(jobs, db, FIRED)

    # All of October at the monthly price: 30.00 + 9.99 and 1001 + 333.
    october = (at(2026, 10, 1), at(2026, 11, 1))
    assert await invoices(db) == [
        (euro.id, *october, Decimal("39.99"), "EUR"),
        (yen.id, *october, Decimal(1334), "JPY"),
    ]
    assert await row_counts(db) == (2, 4)
    # One PLAN_FEE per invoice, made by the first run only.
    assert await plan_fee_count(db) == 2
    assert await balance(db, euro) == Decimal("-39.99")
    assert await balance(db, yen) == Decimal(-1334)
    assert await revenue(db, "EUR") == Decimal("39.99")
    assert await revenue(db, "JPY") == Decimal(1334)
    assert [job.status for job in await jobs.job_manager.list_jobs_async(task=TASK)] == [
        "succeeded",
        "succeeded",
    ]

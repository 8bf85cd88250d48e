"""The monthly fee run: a procrastinate periodic job, safe to run twice."""

from datetime import UTC, datetime

import procrastinate

from tenantry.db.engine import Database
from tenantry.fees.tasks import CHARGE_ENDPOINT_FEES
from tenantry.jobs import run_worker
from tests.fees.conftest import Fees
from tests.fees.test_endpoint_fees import fee_runs, fee_transactions

TASK = f"fees:{CHARGE_ENDPOINT_FEES}"
# When the schedule fires in December 2026: it charges November.
FIRED = int(datetime(2026, 12, 1, 0, 30, tzinfo=UTC).timestamp())


async def run_monthly_job(jobs: procrastinate.App, db: Database) -> None:
    await jobs.configure_task(TASK).defer_async(timestamp=FIRED)
    await run_worker(jobs, db, wait=False)


def test_the_job_is_scheduled_monthly(jobs: procrastinate.App) -> None:
    (periodic,) = [p for key, p in jobs.periodic_registry.periodic_tasks.items() if key[0] == TASK]
    assert periodic.cron == "30 0 1 * *"


async def test_running_the_job_twice_charges_the_month_once(
    fees: Fees, db: Database, jobs: procrastinate.App
) -> None:
    reseller = await fees.tenant(fees.root, fee="1.00")
    customer = await fees.customer(reseller, "4.00")
    await fees.endpoint(customer, "2026-10-20T00:00:00")  # all of November
    await fees.endpoint(customer, "2026-11-16T00:00:00")  # half of it

    await run_monthly_job(jobs, db)
    await run_monthly_job(jobs, db)

    # The customer pays 4.00 + 2.00; the reseller passes on 1.00 + 0.50 to the root.
    assert await fees.balances(customer=customer, reseller=reseller, root=fees.root) == {
        "customer": "-6.00",
        "reseller": "4.50",
        "root": "1.50",
    }
    assert (await fee_runs(db), await fee_transactions(db)) == (1, 1)
    assert [job.status for job in await jobs.job_manager.list_jobs_async(task=TASK)] == [
        "succeeded",
        "succeeded",
    ]

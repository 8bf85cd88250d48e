"""Background tasks for reports (procrastinate): building them, and the sweeps that make sure
every report finishes and none is kept past its retention."""

import asyncio
import contextlib
import logging
from datetime import timedelta

import procrastinate
from procrastinate import Blueprint, JobContext
from procrastinate.exceptions import AlreadyEnqueued

from tenantry.db.engine import Database
from tenantry.db.errors import is_transient
from tenantry.reports import service
from tenantry.reports.models import BUILD_LOCK_PREFIX
from tenantry.settings import Settings

log = logging.getLogger(__name__)

tasks = Blueprint()

BUILD_USAGE_REPORT = "build_usage_report"
# A build that meets a transient error (the database restarting, a deadlock) is tried again
# after 2, 4, 8 and 16 s; the fifth failure is final.
BUILD_ATTEMPTS = 5


class TransientRetry(procrastinate.BaseRetryStrategy):
    """Retry transient database errors with exponential backoff, and a job stopped by its
    worker's shutdown at once (another worker takes it); nothing else."""

    def __init__(self, max_attempts: int, base_seconds: int = 2) -> None:
        self.max_attempts, self.base_seconds = max_attempts, base_seconds

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> procrastinate.RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            return procrastinate.RetryDecision(retry_in={"seconds": 0})
        if job.attempts + 1 >= self.max_attempts or not is_transient(exception):
            return None
        return procrastinate.RetryDecision(
            retry_in={"seconds": self.base_seconds ** (job.attempts + 1)}
        )


@tasks.task(
    name=BUILD_USAGE_REPORT,
    queue="reports",
    pass_context=True,
    retry=TransientRetry(BUILD_ATTEMPTS),
)
async def build_usage_report(context: JobContext, report_id: int) -> None:
    db: Database = context.additional_context["db"]
    job = context.job
    assert job.id is not None
    await service.build_report(
        db, report_id, job_id=job.id, may_retry=job.attempts + 1 < BUILD_ATTEMPTS
    )


async def enqueue_report(jobs: procrastinate.App, report_id: int) -> None:
    """Queue the report's build, unless a job for it is already waiting."""
    with contextlib.suppress(AlreadyEnqueued):
        await jobs.configure_task(
            f"reports:{BUILD_USAGE_REPORT}", queueing_lock=f"{BUILD_LOCK_PREFIX}{report_id}"
        ).defer_async(report_id=report_id)


async def enqueue_soon(jobs: procrastinate.App, report_id: int) -> None:
    """Queue a report just committed. If that fails, it is still requested: the report is
    PENDING and the sweep queues it within a minute, so the caller is told it succeeded."""
    try:
        await enqueue_report(jobs, report_id)
    except Exception:
        log.exception("Queueing usage report %s failed; the report sweep will queue it", report_id)


async def sweep_reports(db: Database, jobs: procrastinate.App) -> None:
    """Queue the reports whose queueing failed; fail the ones whose job gave up."""
    await service.queue_unqueued(db, lambda report_id: enqueue_report(jobs, report_id))
    await service.fail_abandoned(db)


@tasks.periodic(cron="* * * * *", periodic_id="sweep-reports")
@tasks.task(name="sweep_reports", queue="maintenance", pass_context=True)
async def sweep_reports_task(context: JobContext, timestamp: int) -> None:
    await sweep_reports(context.additional_context["db"], context.app)


@tasks.periodic(cron="17 * * * *", periodic_id="expire-reports")
@tasks.task(name="expire_reports", queue="maintenance", pass_context=True)
async def expire_reports_task(context: JobContext, timestamp: int) -> None:
    settings: Settings = context.additional_context["settings"]
    await service.expire_reports(
        context.additional_context["db"], timedelta(days=settings.report_retention_days)
    )

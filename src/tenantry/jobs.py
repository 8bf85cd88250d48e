"""The background job queue: procrastinate, on the application's own PostgreSQL.

`tenantry serve` runs a worker inside the server process; `tenantry worker` runs more, as
separate processes. Jobs are rows in PostgreSQL, so any number of workers share them.

A job always finishes: workers send heartbeats, and a job whose worker went silent (killed,
or cut off) is handed back to the queue by the `retry_stalled_jobs` periodic task; on
shutdown a worker waits at most `shutdown_timeout_seconds` for its jobs, then stops them and
queues them again; a worker that stops by itself (its database restarted) is started again.
"""

import asyncio
import logging

import procrastinate
from procrastinate import Blueprint, JobContext
from sqlalchemy.engine import make_url

from tenantry.auth.tasks import tasks as auth_tasks
from tenantry.db.engine import Database
from tenantry.fees.tasks import tasks as fee_tasks
from tenantry.metrics import observe_job
from tenantry.partners.tasks import tasks as partner_tasks
from tenantry.rate_limits.tasks import tasks as rate_limit_tasks
from tenantry.reports.tasks import tasks as report_tasks
from tenantry.settings import Settings
from tenantry.usage.tasks import tasks as usage_tasks

log = logging.getLogger(__name__)

queue_tasks = Blueprint()

# A job that stalled this many times (its worker died each time) is failed, not retried:
# it is what kills its workers.
STALLED_ATTEMPTS = 5


async def retry_stalled_jobs(jobs: procrastinate.App, stalled_after: float) -> list[int]:
    """Give every job whose worker stopped sending heartbeats back to the queue."""
    retried = []
    for job in await jobs.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        if job.attempts + 1 >= STALLED_ATTEMPTS:
            log.error("Job %s stalled %s times; failing it", job.call_string, job.attempts + 1)
            await jobs.job_manager.finish_job(
                job, status=procrastinate.jobs.Status.FAILED, delete_job=False
            )
            continue
        log.warning("Job %s stalled (its worker died); queueing it again", job.call_string)
        await jobs.job_manager.retry_job(job)
        assert job.id is not None
        retried.append(job.id)
    return retried


@queue_tasks.periodic(cron="* * * * *", periodic_id="retry-stalled-jobs")
@queue_tasks.task(name="retry_stalled_jobs", queue="maintenance", pass_context=True)
async def retry_stalled_jobs_task(context: JobContext, timestamp: int) -> None:
    settings: Settings = context.additional_context["settings"]
    await retry_stalled_jobs(context.app, settings.job_stalled_after_seconds)


# Jobs a worker runs at once, unless told otherwise.
WORKER_CONCURRENCY = 2


def create_job_app(database_url: str) -> procrastinate.App:
    # procrastinate speaks to PostgreSQL through psycopg 3; the application uses asyncpg.
    conninfo = (
        make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    app.add_tasks_from(queue_tasks, namespace="queue")
    app.add_tasks_from(report_tasks, namespace="reports")
    app.add_tasks_from(partner_tasks, namespace="partners")
    app.add_tasks_from(auth_tasks, namespace="auth")
    app.add_tasks_from(fee_tasks, namespace="fees")
    app.add_tasks_from(usage_tasks, namespace="usage")
    app.add_tasks_from(rate_limit_tasks, namespace="rate_limits")
    return app


def connect_jobs_database(
    url: str, settings: Settings, concurrency: int = WORKER_CONCURRENCY
) -> Database:
    """The workers' own pool, with the jobs' statement timeout: a report build or an invoice
    run is not an API call and must not be cut by the API's timeout."""
    return Database.connect(
        url,
        pool_size=concurrency + 2,
        max_overflow=2,
        statement_timeout_ms=settings.job_statement_timeout_ms,
        name="jobs",
    )


async def run_worker(
    jobs: procrastinate.App,
    db: Database,
    settings: Settings | None = None,
    *,
    wait: bool = True,
    name: str | None = None,
    concurrency: int = WORKER_CONCURRENCY,
) -> None:
    settings = settings or Settings()
    await jobs.run_worker_async(
        wait=wait,
        name=name or "tenantry",
        concurrency=concurrency,
        install_signal_handlers=False,
        shutdown_graceful_timeout=settings.shutdown_timeout_seconds,
        update_heartbeat_interval=settings.job_heartbeat_seconds,
        stalled_worker_timeout=settings.job_stalled_after_seconds,
        additional_context={"db": db, "settings": settings},
        worker_middleware=[observe_job],
    )


RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_RUN_SECONDS = 60.0


async def supervise_worker(
    jobs: procrastinate.App,
    db: Database,
    settings: Settings,
    *,
    name: str,
    concurrency: int = 2,
) -> None:
    """Run a worker until cancelled, starting it again whenever it stops by itself.

    procrastinate stops a worker when one of its side tasks fails, which is what a database
    restart does to its LISTEN connection; left alone, the process would run no job again."""
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        started = loop.time()
        try:
            await run_worker(jobs, db, settings, name=name, concurrency=concurrency)
            log.error("Worker %s stopped by itself; starting it again", name)
        except Exception:
            log.exception("Worker %s failed; starting it again", name)
        # Back off while it keeps failing; a worker that ran for a while starts over quickly.
        if loop.time() - started >= HEALTHY_RUN_SECONDS:
            failures = 0
        await asyncio.sleep(RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)])
        failures += 1

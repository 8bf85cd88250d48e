"""The background job queue: procrastinate, on the application's own PostgreSQL.

`tenantry serve` runs a worker inside the server process; `tenantry worker` runs more, as
separate processes. Jobs are rows in PostgreSQL, so any number of workers share them.
"""

import procrastinate
from sqlalchemy.engine import make_url

from tenantry.auth.tasks import tasks as auth_tasks
from tenantry.db.engine import Database
from tenantry.partners.tasks import tasks as partner_tasks
from tenantry.reports.tasks import BUILD_USAGE_REPORT
from tenantry.reports.tasks import tasks as report_tasks
from tenantry.settings import Settings

# Jobs a worker runs at once, unless told otherwise.
WORKER_CONCURRENCY = 2


def create_job_app(database_url: str) -> procrastinate.App:
    # procrastinate speaks to PostgreSQL through psycopg 3; the application uses asyncpg.
    conninfo = (
        make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    app.add_tasks_from(report_tasks, namespace="reports")
    app.add_tasks_from(partner_tasks, namespace="partners")
    app.add_tasks_from(auth_tasks, namespace="auth")
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
    )


async def enqueue_report(jobs: procrastinate.App, report_id: int) -> None:
    await jobs.configure_task(f"reports:{BUILD_USAGE_REPORT}").defer_async(report_id=report_id)


async def run_worker(
    jobs: procrastinate.App,
    db: Database,
    *,
    wait: bool = True,
    name: str | None = None,
    concurrency: int = WORKER_CONCURRENCY,
) -> None:
    await jobs.run_worker_async(
        wait=wait,
        name=name or "tenantry",
        concurrency=concurrency,
        install_signal_handlers=False,
        additional_context={"db": db},
    )

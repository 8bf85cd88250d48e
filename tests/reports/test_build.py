"""Building a report: cells a spreadsheet would run are neutralized, a large report holds a
chunk or two whatever its size and shows its progress, a finished report tells its size and
when it expires, and a failure is told in words people understand."""

import csv
import io
import math
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import procrastinate
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tenantry.db.engine import Database
from tenantry.reports import repository as reports_repo
from tenantry.reports import service
from tenantry.reports.models import ReportStatus, UsageReport
from tenantry.settings import Settings
from tests.api.test_reports import path_of, request, work_off
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, create_customer, create_endpoint, record
from tests.fixtures.world import World
from tests.ids import gid, pk_of

REPORT = """query($id: ID!) { node(id: $id) { ... on UsageReport {
  status rowCount byteSize completedAt expiresAt error downloadUrl } } }"""


async def report(gql: GraphQLClient, token: str, report_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await gql.data(REPORT, {"id": report_id}, token=token))["node"]
    return node


async def test_cells_a_spreadsheet_would_run_are_text_and_numbers_stay_numbers(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, world: World, priced: Priced
) -> None:
    root = world.root_admin.token
    customer = (
        await create_customer(gql, root, world.a1.id, name='=HYPERLINK("http://evil.example","Hi")')
    )["customer"]
    operator = (await gql.data("{ sponsorOperators { id } }", token=root))["sponsorOperators"][0][
        "id"
    ]
    names = ["-2+3", "+SUM(A1)", "@cmd", "Gate = east"]
    endpoints = [
        (await create_endpoint(gql, root, customer["id"], operator, name=name))["endpoint"]["id"]
        for name in names
    ]
    await gql.data(
        RECORD,
        {"r": [record(e, f"e{i}", "2.5") for i, e in enumerate(endpoints)]},
        token=root,
    )
    report_id = (await request(gql, world.a1_viewer.token, world.a1.id))["report"]["id"]
    await work_off(jobs, db)
    done = await report(gql, world.a1_viewer.token, report_id)
    content = (await gql.http.get(path_of(done["downloadUrl"]))).content
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert [r[2:] for r in rows[1:]] == [
        ["'-2+3", """'=HYPERLINK("http://evil.example","Hi")""", "a1", "DATA", "2.5", "0.06", "EUR"],
        ["'+SUM(A1)", """'=HYPERLINK("http://evil.example","Hi")""", "a1", "DATA", "2.5", "0.06", "EUR"],
        ["'@cmd", """'=HYPERLINK("http://evil.example","Hi")""", "a1", "DATA", "2.5", "0.06", "EUR"],
        ["Gate = east", """'=HYPERLINK("http://evil.example","Hi")""", "a1", "DATA", "2.5", "0.06", "EUR"],
    ]  # fmt: skip
    assert b"""\"'=HYPERLINK(""http://evil.example"",""Hi"")\"""" in content
    # Its size and its expiry (TENANTRY_REPORT_RETENTION_DAYS, 30 by default).
    assert done["byteSize"] == len(content)
    completed = datetime.fromisoformat(done["completedAt"])
    assert datetime.fromisoformat(done["expiresAt"]) - completed == timedelta(days=30)


async def test_size_and_expiry_are_null_until_the_report_is_done(
    gql: GraphQLClient,
    db: Database,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report_id = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    pending = await report(gql, world.a1_admin.token, report_id)
    assert (pending["byteSize"], pending["expiresAt"]) == (None, None)
    # A FAILED report has no CSV, and is deleted with the others.
    async with db.write() as session:
        await reports_repo.set_progress(
            session,
            pk_of(report_id),
            status=ReportStatus.FAILED,
            error=service.UNEXPECTED,
            completed_at=datetime.fromisoformat("2026-12-01T10:00:00+00:00"),
        )
    monkeypatch.setattr(settings, "report_retention_days", 7)
    failed = await report(gql, world.a1_admin.token, report_id)
    assert (failed["byteSize"], failed["expiresAt"]) == (None, "2026-12-08T10:00:00+00:00")


async def november_report(db: Database, tenant_id: int) -> UsageReport:
    """A PENDING report of November 2026 (no job: the tests build it themselves)."""
    async with db.write() as session:
        return await reports_repo.add(
            session,
            UsageReport(
                tenant_id=tenant_id,
                period_start=datetime.fromisoformat("2026-11-01T00:00:00+00:00"),
                period_end=datetime.fromisoformat("2026-12-01T00:00:00+00:00"),
                include_descendants=True,
            ),
        )


ENDPOINTS = 5_000

# Endpoints of the priced customer, some with names that CSV must quote, and one DATA, SMS
# and VOICE record each: 15,000 rows, about 1.2 MB of CSV.
FILL = """
WITH model AS (SELECT * FROM endpoints WHERE id = :endpoint),
new AS (
  INSERT INTO endpoints (tenant_id, customer_id, name, iccid, sponsor_operator_id)
  SELECT tenant_id, customer_id,
         CASE WHEN g % 7 = 0 THEN 'Gate "' || g || E'",\\nnorth' ELSE 'SIM ' || g END,
         '8999' || lpad(g::text, 15, '0'), sponsor_operator_id
  FROM model, generate_series(1, :n) AS g
  RETURNING id, tenant_id, customer_id
)
INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges,
                           occurred_at, event_id)
SELECT new.tenant_id, new.customer_id, new.id, kind, 1.5, 2,
       ARRAY[0.05, 0.02, 0.01], timestamptz '2026-11-10', kind || new.id
FROM new, unnest(ARRAY['DATA', 'SMS', 'VOICE']) AS kind
"""


async def test_a_large_report_holds_a_chunk_or_two_and_its_progress_moves(
    gql: GraphQLClient,
    db: Database,
    world: World,
    priced: Priced,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with db.write() as session:
        await session.execute(
            sa.text(FILL), {"endpoint": pk_of(priced.endpoint_id), "n": ENDPOINTS}
        )
    row = await november_report(db, world.a1.id)
    # Every change of progress is written (not only every PROGRESS_SECONDS), and seen here.
    monkeypatch.setattr(service, "PROGRESS_SECONDS", 0)
    written: list[dict[str, Any]] = []
    real_set_progress = reports_repo.set_progress

    async def set_progress(session: Any, report_id: int, **values: Any) -> None:
        written.append(values)
        await real_set_progress(session, report_id, **values)

    monkeypatch.setattr(reports_repo, "set_progress", set_progress)

    built = await service.build_report(db, row.id, job_id=0, may_retry=False)

    assert built is not None and built.rows == 3 * ENDPOINTS
    assert built.chunks == math.ceil(built.size / service.CHUNK_BYTES) >= 4
    # The chunk being stored, the one filling, and what asyncpg read from the socket at once
    # (at most 256 KiB, asyncio's read size): never the report.
    assert built.peak_held < 2 * service.CHUNK_BYTES + 256 * 1024 < built.size
    # Progress rose chunk by chunk through the endpoints, then the report said 1.
    *moving, final = written
    steps = [values["progress"] for values in moving]
    assert all(values.keys() == {"progress"} for values in moving)
    assert len(steps) >= 4 and steps == sorted(set(steps)) and 0 < steps[0] < 0.5 < steps[-1] < 1
    assert (final["status"], final["progress"], final["row_count"], final["byte_size"]) == (
        ReportStatus.SUCCEEDED,
        1.0,
        built.rows,
        built.size,
    )

    done = await report(gql, world.a1_admin.token, gid("UsageReport", row.id))
    content = (await gql.http.get(path_of(done["downloadUrl"]))).content
    assert len(content) == built.size == done["byteSize"]
    rows = list(csv.reader(io.StringIO(content.decode(), newline="")))
    assert len(rows) == 1 + built.rows
    assert 'Gate "7",\nnorth' in {r[2] for r in rows}  # quoted, its LF kept inside the value
    # CRLF ends every record, and only records.
    assert content.count(b"\r\n") == len(rows) and content.count(b"\n") > len(rows)


async def test_a_build_over_its_time_is_failed_in_words_and_logged_in_detail(
    db: Database,
    database_url: str,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = await november_report(db, world.a1.id)
    # Jobs run under TENANTRY_JOB_STATEMENT_TIMEOUT_MS; the usage table is locked meanwhile.
    jobs_db = Database.connect(database_url, statement_timeout_ms=300)
    locker = await asyncpg.connect(
        make_url(database_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE")
            assert await service.build_report(jobs_db, row.id, job_id=0, may_retry=True) is None
    finally:
        await locker.close()
        await jobs_db.dispose()
    async with db.read() as session:
        failed = await reports_repo.get_unscoped(session, row.id)
    assert failed is not None
    assert (failed.status, failed.error) == (
        ReportStatus.FAILED,
        "The report could not be built in the time a build is allowed; "
        "request a shorter period or fewer tenants.",
    )
    [logged] = [r for r in caplog.records if r.exc_info and r.name == "tenantry.reports.service"]
    assert logged.getMessage() == f"Usage report {row.id} (job 0) failed"
    assert "canceling statement due to statement timeout" in caplog.text

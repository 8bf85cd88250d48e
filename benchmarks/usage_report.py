"""Build and download a usage report, with flat memory, at 20,000 and 220,000 records.

Fills usage with SQL (the rating path has its own benchmark), then measures:
- building the report (the worker's code: PostgreSQL aggregates and formats the CSV, which
  streams through `COPY ... TO STDOUT` into the stored chunks),
- downloading it (the signed-link route, streamed chunk by chunk),
- a plain `COPY (the same rows) TO STDOUT (FORMAT csv)`, the baseline, in the same run;
and the peak Python memory of each (tracemalloc), at two sizes to show it does not grow.
The goal: building takes at most 1.5 times the baseline.

    .venv/bin/python -m benchmarks.usage_report [--records 200000] [--endpoints 10000]
        [--database tenantry_bench_report]
"""

import argparse
import asyncio
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from strawberry import relay

from benchmarks.common import fresh_database
from benchmarks.ingest_usage import build_tree
from tenantry.app import create_app
from tenantry.db.engine import Database
from tenantry.reports import repository as reports_repo
from tenantry.reports import service
from tenantry.reports.models import ReportStatus, UsageReport, UsageReportChunk
from tenantry.settings import Settings
from tenantry.tenants.models import Tenant
from tenantry.usage import repository as usage_repo

FIRST_RECORD = datetime(2026, 11, 1, tzinfo=UTC)
LAST_OFFSET = timedelta(seconds=2_500_000)
FILL = sa.text(
    """
    INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges,
                               occurred_at, event_id)
    SELECT e.tenant_id, e.customer_id, e.id, (ARRAY['DATA','SMS','VOICE'])[1 + g % 3],
           (g % 1000) / 100.0, 4, ARRAY[0.05, 0.02, 0.02, 0.02, 0.01],
           timestamptz '2026-11-01' + (g % 2500000) * interval '1 second', :prefix || g
    FROM generate_series(1, :n) AS g
    JOIN endpoints e ON e.id = (SELECT min(id) FROM endpoints) + g % :endpoints
    """
)


async def measure(
    label: str, work: Callable[[], Awaitable[object]], *, traced: bool = False
) -> tuple[float, float]:
    """Seconds, and with ``traced`` the peak Python memory (tracemalloc slows Python code
    several times over, so timed runs go without it)."""
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
    tracemalloc.stop()
    memory = f"peak Python memory {peak:7.1f} MiB" if traced else "(timed, untraced)"
    print(f"  {label:<34} {seconds:8.2f} s   {memory}")
    return seconds, peak


async def run(db: Database, url: str, records: int, endpoints: int, prefix: str) -> None:
    async with db.write() as session:
        # Records are stored in monthly partitions: the months FILL writes (from 1 November,
        # up to 2.5M seconds later) first, as ingestion would.
        await usage_repo.ensure_partitions(session, [FIRST_RECORD, FIRST_RECORD + LAST_OFFSET])
        await session.execute(FILL, {"n": records, "endpoints": endpoints, "prefix": prefix})
        tenant = await session.scalar(sa.select(Tenant).where(Tenant.moniker == "level-1"))
        assert tenant is not None
        report = UsageReport(
            tenant_id=tenant.id,
            period_start=datetime(2026, 11, 1, tzinfo=UTC),
            period_end=datetime(2026, 12, 1, tzinfo=UTC),
            include_descendants=True,
        )
        await reports_repo.add(session, report)
    async with db.read() as session:
        total = await session.scalar(sa.text("SELECT count(*) FROM usage_records"))
    print(f"usage records: {total}")
    # The report's rows as PostgreSQL holds them, unformatted, compiled for asyncpg.
    compiled = reports_repo.rows_query(report, tenant.depth).compile(dialect=db.engine.dialect)
    rows_sql = str(compiled)
    args = [compiled.params[name] for name in compiled.positiontup or ()]

    async def copy() -> None:
        async with db.bare() as connection:
            await connection.copy_from_query(rows_sql, *args, output=_Sink(), format="csv")

    # Each three times, in turns (the first COPY also sets the new rows' hint bits); the best
    # of each is compared, so that a busy machine's noise weighs less. Between builds the
    # report goes back to PENDING without its chunks.
    builds: list[float] = []
    copies: list[float] = []
    for attempt in range(4):
        # The last round traces memory (and is not timed against the others).
        traced = attempt == 3
        copied, _ = await measure("plain COPY ... TO STDOUT (baseline)", copy, traced=traced)
        if attempt:
            async with db.write() as session:
                await session.execute(
                    sa.delete(UsageReportChunk).where(UsageReportChunk.report_id == report.id)
                )
                await reports_repo.set_progress(session, report.id, status=ReportStatus.PENDING)
        took, _ = await measure(
            "build report (worker)",
            lambda: service.build_report(db, report.id, job_id=0, may_retry=False),
            traced=traced,
        )
        if not traced:
            copies.append(copied)
            builds.append(took)
    build, plain = min(builds), min(copies)

    app = create_app(Settings(database_url=url), db=db)
    query = await service.signed_query(db, report.id, timedelta(hours=1))
    path = f"/reports/{relay.to_base64('UsageReport', report.id)}/usage.csv?{query}"

    async def download() -> None:
        size = 0
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as http,
            http.stream("GET", path) as response,
        ):
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                size += len(chunk)
        print(f"  downloaded {size / 2**20:.1f} MiB")

    fetch, _ = await measure("download (signed link, streamed)", download, traced=True)
    async with db.read() as session:
        built = await reports_repo.get_unscoped(session, report.id)
    assert built is not None
    print(f"  rows: {built.row_count}, CSV: {(built.byte_size or 0) / 2**20:.1f} MiB")
    print(f"  best of 3: build {build:.2f} s, COPY {plain:.2f} s")
    print(f"  ratio build/COPY: {build / plain:.2f}   ratio download/COPY: {fetch / plain:.2f}")


class _Sink:
    def __init__(self) -> None:
        self.size = 0

    async def __call__(self, data: bytes) -> None:
        self.size += len(data)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--database", default="tenantry_bench_report")
    args = parser.parse_args()
    url = await fresh_database(args.database)
    db = Database.connect(url, pool_size=4)
    try:
        await build_tree(db, endpoints=args.endpoints)
        # A tenth first, then the full size on top: peak memory should not grow with it.
        print(f"-- {args.records // 10} records")
        await run(db, url, args.records // 10, args.endpoints, "small-")
        print(f"-- {args.records + args.records // 10} records")
        await run(db, url, args.records, args.endpoints, "large-")
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())

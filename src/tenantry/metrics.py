"""Prometheus metrics, served at ``/metrics`` in the text format.

Counters and histograms live in this process; with ``tenantry serve --workers N`` every
worker writes them to ``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve`` before the workers
start) and a scrape, whichever worker answers it, adds them all up. The job queue's depth is
read from PostgreSQL at scrape time, so it is the same whoever asks.
"""

import os
import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import AsyncAdaptedQueuePool
from starlette.requests import Request
from starlette.responses import Response

from tenantry.settings import Settings

if TYPE_CHECKING:
    from tenantry.db.engine import Database

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "tenantry_requests_total",
    "Requests (and WebSocket connections), by GraphQL operation or route and outcome.",
    ["operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "tenantry_request_duration_seconds",
    "Time from the request's arrival to its last byte, by operation or route and outcome.",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
READS = Counter(
    "tenantry_graphql_reads_total",
    "Read operations by the path that answered them: compiled (one SQL statement) or resolver.",
    ["path"],
)
POOL_IN_USE = Gauge(
    "tenantry_db_pool_connections_in_use",
    "Database connections checked out of the pool, by pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "tenantry_db_pool_waiting",
    "Callers waiting for (or just getting) a connection from the pool, by pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
JOB_SECONDS = Histogram(
    "tenantry_job_duration_seconds",
    "Background jobs run by this process's worker, by task and outcome.",
    ["task", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
REPORT_BUILDS = Counter(
    "tenantry_report_builds_total", "Usage report builds, by outcome.", ["outcome"]
)
LEDGER_TRANSACTIONS = Counter(
    "tenantry_ledger_transactions_total", "Ledger transactions committed, by kind.", ["kind"]
)

# Operation names come from clients: a label keeps a few hundred of them, then says "other".
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
MAX_OPERATIONS = 200
_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name not in _operations:
        if len(_operations) >= MAX_OPERATIONS:
            return "other"
        _operations.add(name)
    return name


def observe_request(operation: str, outcome: str, seconds: float) -> None:
    REQUESTS.labels(operation, outcome).inc()
    REQUEST_SECONDS.labels(operation, outcome).observe(seconds)


class ObservedPool(AsyncAdaptedQueuePool):
    """The async engine's pool, counting who waits for a connection and who holds one."""

    label = "db"

    def _do_get(self) -> Any:
        waiting = POOL_WAITING.labels(self.label)
        waiting.inc()
        try:
            connection = super()._do_get()
        finally:
            waiting.dec()
        POOL_IN_USE.labels(self.label).inc()
        return connection

    def _do_return_conn(self, record: Any) -> None:
        POOL_IN_USE.labels(self.label).dec()
        super()._do_return_conn(record)


def observed_pool(label: str) -> type[ObservedPool]:
    # In SQLAlchemy's logger hierarchy, as its own pools are (quiet below WARNING).
    attributes = {"label": label, "__module__": "sqlalchemy.pool.impl"}
    return type(f"ObservedPool_{label}", (ObservedPool,), attributes)


# Ledger transactions are counted when their database transaction commits, not when they
# are written: a rolled-back transfer moved nothing.
_PENDING = "tenantry_ledger_kinds"


def count_ledger_transaction(session: AsyncSession, kind: str) -> None:
    session.sync_session.info.setdefault(_PENDING, Tally())[kind] += 1


def _committed(session: Any) -> None:
    for kind, count in session.info.pop(_PENDING, Tally()).items():
        LEDGER_TRANSACTIONS.labels(kind).inc(count)


def _rolled_back(session: Any, *_: Any) -> None:
    session.info.pop(_PENDING, None)


sa.event.listen(sa.orm.Session, "after_commit", _committed)
sa.event.listen(sa.orm.Session, "after_rollback", _rolled_back)


async def observe_job(call_next: Callable[[], Any], context: Any, worker: Any) -> Any:
    """procrastinate worker middleware: each job's duration and outcome."""
    task = context.job.task_name
    started = perf_counter()
    outcome = "failed"
    try:
        result = await call_next()
        outcome = "succeeded"
        return result
    finally:
        JOB_SECONDS.labels(task, outcome).observe(perf_counter() - started)
        if task.endswith("build_usage_report"):
            REPORT_BUILDS.labels(outcome).inc()


class JobQueue(Collector):
    """The queue's depth as PostgreSQL has it, read just before a scrape is answered."""

    def __init__(self, rows: Iterable[tuple[str, str, int]]) -> None:
        self.rows = list(rows)

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(
            "tenantry_job_queue_depth",
            "Jobs waiting or running, by queue.",
            labels=["queue", "status"],
        )
        for queue, status, count in self.rows:
            depth.add_metric([queue, status], count)
        yield depth


JOB_QUEUE_SQL = """
    SELECT queue_name, status::text, count(*) FROM procrastinate_jobs
    WHERE status IN ('todo', 'doing') GROUP BY 1, 2 ORDER BY 1, 2
"""


async def metrics_endpoint(request: Request) -> Response:
    db: Database = request.app.state.db
    async with db.bare() as connection:
        rows = [tuple(row) for row in await connection.fetch(JOB_QUEUE_SQL)]
    queue = CollectorRegistry()
    queue.register(JobQueue(rows))
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(queue)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def fresh_metrics_dir(settings: Settings) -> Path:
    """An empty directory for this server's workers' metric files."""
    directory = settings.data_dir.resolve() / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.db"):
        old.unlink()
    return directory

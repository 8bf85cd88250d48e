"""Rules for usage reports: who may request them, building them, signing their links."""

import hashlib
import hmac
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import ErrorCode, Problems
from tenantry.db.engine import Database
from tenantry.db.errors import is_transient, sqlstate
from tenantry.reports import repository as repo
from tenantry.reports.csv_chunks import CsvChunks
from tenantry.reports.models import ReportStatus, UsageReport
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.errors import tenant_not_found

log = logging.getLogger(__name__)

MAX_RANGE = timedelta(days=366)
CHUNK_BYTES = 256 * 1024
PROGRESS_SECONDS = 0.5


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewReport:
    tenant_id: int
    since: datetime
    until: datetime
    include_descendants: bool = True


async def request_report(
    session: AsyncSession, principal: Principal, new: NewReport
) -> UsageReport:
    """Record the request (PENDING). Viewers may ask too: a report only reads."""
    tenant = await tenants_repo.get(session, principal.scope, new.tenant_id)
    if tenant is None:
        raise tenant_not_found(("input", "tenantId"))
    problems = Problems()
    if new.since.tzinfo is None or new.until.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give both times with a UTC offset.", ("input", "from"))
    elif new.since >= new.until:
        problems.add(ErrorCode.INVALID, "'from' must be before 'to'.", ("input", "from"))
    elif new.until - new.since > MAX_RANGE:
        problems.add(ErrorCode.INVALID, "A report covers at most 366 days.", ("input", "to"))
    problems.raise_if_any()
    report = UsageReport(
        tenant_id=tenant.id,
        requested_by_user_id=principal.user_id,
        period_start=new.since,
        period_end=new.until,
        include_descendants=new.include_descendants,
        status=ReportStatus.PENDING,
        progress=0.0,
    )
    return await repo.add(session, report)


@dataclass(frozen=True)
class Built:
    """What a build made: its rows, its CSV's bytes and chunks, and the most it held."""

    rows: int
    size: int
    chunks: int
    peak_held: int


class _Progress:
    """How far a build is, from where its rows (in endpoint order) have got in the range of
    the report's endpoint ids; written in its own short transaction at most every
    PROGRESS_SECONDS, so that pollers and subscriptions see it move."""

    def __init__(self, db: Database, report_id: int, endpoints: tuple[int, int] | None) -> None:
        self.db, self.report_id, self.endpoints = db, report_id, endpoints
        self.shown = 0.0
        self.last = time.monotonic()

    async def reached(self, endpoint_id: int | None) -> None:
        if endpoint_id is None or self.endpoints is None:
            return
        low, high = self.endpoints
        # Below 1 until the report is stored, which says 1 itself.
        done = min(0.99, (endpoint_id - low + 1) / (high - low + 1))
        if done > self.shown and time.monotonic() - self.last >= PROGRESS_SECONDS:
            async with self.db.write() as session:
                await repo.set_progress(session, self.report_id, progress=done)
            self.shown, self.last = done, time.monotonic()


async def _build(db: Database, claimed: repo.Claimed, chunk_bytes: int) -> Built:
    """Stream the CSV from PostgreSQL into the report's chunks, and mark it SUCCEEDED, in one
    transaction: a build that fails leaves no chunk behind."""
    report = claimed.report
    progress = _Progress(db, report.id, claimed.endpoints)
    async with db.write() as session:
        seq = itertools.count()

        async def store(chunk: bytes, endpoint_id: int | None) -> None:
            await repo.add_chunk(session, report, next(seq), chunk)
            await progress.reached(endpoint_id)

        async with CsvChunks(chunk_bytes, store) as output, db.bare(pinged=True) as connection:
            rows = await repo.copy_csv(
                connection, report, claimed.tenant_depth, claimed.currency, output
            )
        await repo.set_progress(
            session,
            report.id,
            status=ReportStatus.SUCCEEDED,
            progress=1.0,
            row_count=rows,
            byte_size=output.size,
            completed_at=utcnow(),
        )
    return Built(rows, output.size, output.chunks, output.peak_held)


async def build_report(
    db: Database, report_id: int, *, job_id: int, may_retry: bool, chunk_bytes: int = CHUNK_BYTES
) -> Built | None:
    """Build one report. Runs in a worker; any number of jobs may be handed the same id, and
    only the one that moves it out of PENDING builds it (or a retry of that same job, which
    starts again from nothing). A transient error is raised for the queue to retry the job
    while ``may_retry``; any other error, or the last attempt's, makes the report FAILED with
    a reason its reader understands, the details going to the log."""
    async with db.write() as session:
        claimed = await repo.claim(session, report_id, job_id, utcnow())
    if claimed is None:
        return None
    started = time.monotonic()
    try:
        built = await _build(db, claimed, chunk_bytes)
    except Exception as exc:
        if may_retry and is_transient(exc):
            log.warning(
                "Usage report %s (job %s) met a transient error; it will be retried: %r",
                report_id,
                job_id,
                exc,
            )
            raise
        log.exception("Usage report %s (job %s) failed", report_id, job_id)
        async with db.write() as session:
            await repo.set_progress(
                session,
                report_id,
                status=ReportStatus.FAILED,
                error=failure_reason(exc),
                completed_at=utcnow(),
            )
        return None
    log.info(
        "Usage report %s built: %d rows, %d bytes in %d chunks, %.2f s",
        report_id,
        built.rows,
        built.size,
        built.chunks,
        time.monotonic() - started,
    )
    return built


UNAVAILABLE = (
    "The report could not be built because the database was unavailable; request it again."
)
TOO_SLOW = (
    "The report could not be built in the time a build is allowed; "
    "request a shorter period or fewer tenants."
)
UNEXPECTED = (
    "The report could not be built because of an unexpected error; request it again, "
    "and if it fails again, tell support its id."
)
# SQLSTATE of a statement cancelled by statement_timeout (TENANTRY_JOB_STATEMENT_TIMEOUT_MS).
_QUERY_CANCELED = "57014"


def failure_reason(exc: BaseException) -> str:
    """Why a build failed, for the people who asked for the report (the log has the rest)."""
    if is_transient(exc):
        return UNAVAILABLE
    if sqlstate(exc) == _QUERY_CANCELED:
        return TOO_SLOW
    return UNEXPECTED


ABANDONED = "The build stopped and could not be resumed; request the report again."
SWEEP_BATCH = 500


async def queue_unqueued(db: Database, queue: Callable[[int], Awaitable[None]]) -> list[int]:
    """Queue the PENDING reports that have no job (queueing failed after their commit)."""
    async with db.read() as session:
        ids = await repo.unqueued(session, SWEEP_BATCH)
    for report_id in ids:
        log.warning("Usage report %s had no job; queueing it", report_id)
        await queue(report_id)
    return ids


async def fail_abandoned(db: Database) -> list[int]:
    """RUNNING reports whose job ended without finishing them (it was given up) become FAILED,
    so that none stays RUNNING for ever."""
    async with db.write() as session:
        ids = await repo.fail_abandoned(session, ABANDONED, utcnow())
    for report_id in ids:
        log.error("Usage report %s was abandoned by its job; marked FAILED", report_id)
    return ids


def expires_at(report: UsageReport, retention: timedelta) -> datetime | None:
    """When ``expire_reports`` may delete a finished report; None while it is unfinished."""
    return None if report.completed_at is None else report.completed_at + retention


async def expire_reports(db: Database, retention: timedelta) -> int:
    """Delete the reports (and their CSV) whose ``expires_at`` has passed."""
    before = utcnow() - retention
    deleted = 0
    while True:
        async with db.write() as session:
            batch = await repo.delete_finished_before(session, before, SWEEP_BATCH)
        deleted += batch
        if batch < SWEEP_BATCH:
            return deleted


def _signature(key: str, report_id: int, expires: int) -> str:
    return hmac.new(
        key.encode(), f"usage-report:{report_id}:{expires}".encode(), hashlib.sha256
    ).hexdigest()


async def _signing_key(db: Database) -> str:
    """Shared by every process through the database; made (and committed) on first use."""
    async with db.read() as session:
        key = await repo.signing_key(session)
    if key is None:
        async with db.write() as session:
            await repo.create_signing_key(session)
            key = await repo.signing_key(session)
    assert key is not None
    return key


async def signed_query(db: Database, report_id: int, ttl: timedelta) -> str:
    expires = int(time.time() + ttl.total_seconds())
    signature = _signature(await _signing_key(db), report_id, expires)
    return f"expires={expires}&signature={signature}"


# Unix seconds of links this server signs have 10 digits until the year 2286.
EXPIRES_MAX_DIGITS = 12


async def verify_link(db: Database, report_id: int, expires: str, signature: str) -> bool:
    """Whether a link's query is one this server signed and still valid; anything else a
    client may type (other scripts' digits, thousands of digits, any text) is just invalid."""
    if not (expires.isascii() and expires.isdigit() and len(expires) <= EXPIRES_MAX_DIGITS):
        return False
    if int(expires) < time.time() or not signature.isascii():
        return False
    expected = _signature(await _signing_key(db), report_id, int(expires))
    return hmac.compare_digest(expected, signature)

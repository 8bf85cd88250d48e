"""Rules for usage reports: who may request them, building them, signing their links."""

import csv
import hashlib
import hmac
import io
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.core.decimals import plain
from tenantry.core.errors import ErrorCode, Problems
from tenantry.db.engine import Database
from tenantry.db.errors import is_transient
from tenantry.ledger.money import display_amount
from tenantry.reports import repository as repo
from tenantry.reports.models import ReportStatus, UsageReport
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.errors import tenant_not_found

log = logging.getLogger(__name__)

MAX_RANGE = timedelta(days=366)
CHUNK_BYTES = 256 * 1024
HEADER = [
    "endpoint_id",
    "iccid",
    "endpoint_name",
    "customer",
    "tenant_moniker",
    "kind",
    "quantity",
    "cost",
    "currency",
]


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


class _ChunkWriter:
    """CSV rows into ~256 KB chunks, each committed with the progress made so far."""

    def __init__(self, db: Database, report: UsageReport, total: int) -> None:
        self.db, self.report, self.total = db, report, total
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer)  # RFC 4180: quotes as needed, CRLF line ends
        self.csv.writerow(HEADER)
        self.seq = self.rows = self.size = 0

    async def write(self, row: list[str]) -> None:
        self.csv.writerow(row)
        self.rows += 1
        if self.buffer.tell() >= CHUNK_BYTES:
            await self.flush(final=False)

    async def flush(self, *, final: bool) -> None:
        data = self.buffer.getvalue().encode()
        self.buffer.seek(0)
        self.buffer.truncate()
        async with self.db.write() as session:
            if data:
                await repo.add_chunk(session, self.report, self.seq, data)
                self.seq += 1
                self.size += len(data)
            values: dict[str, object] = {
                "progress": min(1.0, self.rows / self.total) if self.total else 1.0
            }
            if final:
                values |= {
                    "status": ReportStatus.SUCCEEDED,
                    "row_count": self.rows,
                    "byte_size": self.size,
                    "completed_at": utcnow(),
                    "progress": 1.0,
                }
            await repo.set_progress(session, self.report.id, **values)


async def build_report(db: Database, report_id: int, *, job_id: int, may_retry: bool) -> None:
    """Build one report. Runs in a worker; any number of jobs may be handed the same id, and
    only the one that moves it out of PENDING builds it (or a retry of that same job, which
    starts again from nothing). A transient error is raised for the queue to retry the job
    while ``may_retry``; any other error, or the last attempt's, makes the report FAILED."""
    async with db.write() as session:
        report = await repo.claim(session, report_id, job_id, utcnow())
        if report is not None:
            await repo.delete_chunks(session, report_id)
    if report is None:
        return
    try:
        async with db.read() as session:
            tenant = await tenants_repo.get(session, Scope(0, sees_all=True), report.tenant_id)
            assert tenant is not None
            total = await repo.count_rows(session, report, tenant.depth)
        writer = _ChunkWriter(db, report, total)
        async with db.read() as session:
            async for (
                endpoint_id,
                iccid,
                name,
                customer,
                moniker,
                kind,
                quantity,
                cost,
            ) in repo.stream_rows(session, report, tenant.depth):
                await writer.write(
                    [
                        str(relay.to_base64("Endpoint", endpoint_id)),
                        iccid,
                        name,
                        customer,
                        moniker,
                        kind,
                        str(plain(quantity)),
                        str(display_amount(cost, tenant.currency)),
                        tenant.currency,
                    ]
                )
        await writer.flush(final=True)
    except Exception as exc:
        if may_retry and is_transient(exc):
            log.warning("Usage report %s met a transient error; it will be retried", report_id)
            raise
        log.exception("Usage report %s failed", report_id)
        async with db.write() as session:
            await repo.delete_chunks(session, report_id)
            await repo.set_progress(
                session,
                report_id,
                status=ReportStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:1000],
                completed_at=utcnow(),
            )


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


async def expire_reports(db: Database, retention: timedelta) -> int:
    """Delete the reports (and their CSV) that finished more than ``retention`` ago."""
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

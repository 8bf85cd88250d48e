"""All SQL about usage reports: the rows they hold, their chunks, their signing key."""

import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.reports.models import (
    BUILD_LOCK_PREFIX,
    AppSecret,
    ReportStatus,
    UsageReport,
    UsageReportChunk,
)
from tenantry.tenants.models import Tenant
from tenantry.usage.repository import UsageOwner, Window, records_with_cost

SIGNING_KEY = "report-download-signing-key"


async def add(session: AsyncSession, report: UsageReport) -> UsageReport:
    session.add(report)
    await session.flush()
    return report


async def get(session: AsyncSession, scope: Scope, report_id: int) -> UsageReport | None:
    stmt = sa.select(UsageReport).where(
        UsageReport.id == report_id, scope.owned_by_visible_tenant(UsageReport.tenant_id)
    )
    return await session.scalar(stmt)


async def get_unscoped(session: AsyncSession, report_id: int) -> UsageReport | None:
    """For workers and signed downloads, which carry their own authority."""
    return await session.get(UsageReport, report_id, populate_existing=True)


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[UsageReport]:
    stmt = sa.select(UsageReport).where(
        any_of(UsageReport.id, ids), scope.owned_by_visible_tenant(UsageReport.tenant_id)
    )
    return list((await session.scalars(stmt)).all())


async def pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[UsageReport]]:
    return await pages_by_key(
        session,
        UsageReport,
        UsageReport.tenant_id,
        tenant_ids,
        page,
        scope.owned_by_visible_tenant(UsageReport.tenant_id),
        descending=True,
    )


async def counts(session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]) -> dict[int, int]:
    return await counts_by_key(
        session,
        UsageReport.tenant_id,
        tenant_ids,
        scope.owned_by_visible_tenant(UsageReport.tenant_id),
    )


async def claim(
    session: AsyncSession, report_id: int, job_id: int, now: datetime
) -> UsageReport | None:
    """PENDING -> RUNNING for the first job that asks, or RUNNING afresh for a retry of the job
    that had it (its worker died, or it met a transient error): other jobs get None."""
    stmt = (
        sa.update(UsageReport)
        .where(
            UsageReport.id == report_id,
            sa.or_(
                UsageReport.status == ReportStatus.PENDING,
                sa.and_(
                    UsageReport.status == ReportStatus.RUNNING,
                    UsageReport.build_job_id == job_id,
                ),
            ),
        )
        .values(status=ReportStatus.RUNNING, started_at=now, build_job_id=job_id, progress=0.0)
        .returning(UsageReport)
    )
    return await session.scalar(stmt, execution_options={"populate_existing": True})


# procrastinate's own table (its schema, not ours): only what the sweeps need to know, whether
# a report still has a job waiting or working for it. Status compared as text: it is an enum.
_queue_jobs = sa.table(
    "procrastinate_jobs",
    sa.column("id", sa.BigInteger),
    sa.column("queueing_lock", sa.String),
    sa.column("status", sa.String),
)
_job_is_live = sa.cast(_queue_jobs.c.status, sa.Text).in_(["todo", "doing"])


async def unqueued(session: AsyncSession, limit: int) -> list[int]:
    """PENDING reports that no job waits for or works on: queueing failed after the commit."""
    has_job = sa.exists().where(
        _queue_jobs.c.queueing_lock
        == sa.literal(BUILD_LOCK_PREFIX) + sa.cast(UsageReport.id, sa.Text),
        _job_is_live,
    )
    stmt = (
        sa.select(UsageReport.id)
        .where(UsageReport.status == ReportStatus.PENDING, ~has_job)
        .order_by(UsageReport.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def fail_abandoned(session: AsyncSession, error: str, now: datetime) -> list[int]:
    """RUNNING reports whose job is over (it gave up, or is gone) become FAILED."""
    has_job = sa.exists().where(_queue_jobs.c.id == UsageReport.build_job_id, _job_is_live)
    stmt = (
        sa.update(UsageReport)
        .where(UsageReport.status == ReportStatus.RUNNING, ~has_job)
        .values(status=ReportStatus.FAILED, error=error, completed_at=now)
        .returning(UsageReport.id)
    )
    ids = list((await session.scalars(stmt)).all())
    if ids:
        await session.execute(
            sa.delete(UsageReportChunk).where(any_of(UsageReportChunk.report_id, ids))
        )
    return ids


async def delete_finished_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` reports that finished before ``before``; their chunks go too."""
    expired = (
        sa.select(UsageReport.id)
        .where(
            UsageReport.status.in_([ReportStatus.SUCCEEDED, ReportStatus.FAILED]),
            UsageReport.completed_at < before,
        )
        .order_by(UsageReport.id)
        .limit(limit)
    )
    result = await session.execute(
        sa.delete(UsageReport).where(UsageReport.id.in_(expired)).returning(UsageReport.id)
    )
    return len(result.all())


async def set_progress(session: AsyncSession, report_id: int, **values: Any) -> None:
    await session.execute(
        sa.update(UsageReport).where(UsageReport.id == report_id).values(**values)
    )


async def add_chunk(session: AsyncSession, report: UsageReport, seq: int, data: bytes) -> None:
    session.add(
        UsageReportChunk(report_id=report.id, seq=seq, tenant_id=report.tenant_id, data=data)
    )
    await session.flush()


async def delete_chunks(session: AsyncSession, report_id: int) -> None:
    await session.execute(
        sa.delete(UsageReportChunk).where(UsageReportChunk.report_id == report_id)
    )


async def chunks_from(
    session: AsyncSession, report_id: int, seq: int, limit: int
) -> list[tuple[int, bytes]]:
    stmt = (
        sa.select(UsageReportChunk.seq, UsageReportChunk.data)
        .where(UsageReportChunk.report_id == report_id, UsageReportChunk.seq >= seq)
        .order_by(UsageReportChunk.seq)
        .limit(limit)
    )
    return [(s, d) for s, d in (await session.execute(stmt)).all()]


def _grouped(report: UsageReport, tenant_depth: int) -> sa.Subquery:
    """Usage per endpoint and kind in the report's range, with what the report's tenant paid
    for it (the same records and charges as ``Tenant.usage``: see usage.repository)."""
    owner = UsageOwner("tenant", report.tenant_id, report.include_descendants, tenant_depth)
    rated = records_with_cost(owner, Window(report.period_start, report.period_end))
    return (
        sa.select(
            rated.c.endpoint_id.label("endpoint_id"),
            rated.c.kind.label("kind"),
            sa.func.sum(rated.c.quantity).label("quantity"),
            sa.func.coalesce(sa.func.sum(rated.c.cost), 0).label("cost"),
        )
        .group_by(rated.c.endpoint_id, rated.c.kind)
        .subquery()
    )


async def count_rows(session: AsyncSession, report: UsageReport, tenant_depth: int) -> int:
    grouped = _grouped(report, tenant_depth)
    return int(await session.scalar(sa.select(sa.func.count()).select_from(grouped)) or 0)


ReportRow = tuple[int, str, str, str, str, str, Decimal, Decimal]


def rows_query(report: UsageReport, tenant_depth: int) -> sa.Select[Any]:
    """The report's rows, in endpoint order."""
    grouped = _grouped(report, tenant_depth)
    return (
        sa.select(
            grouped.c.endpoint_id,
            Endpoint.iccid,
            Endpoint.name,
            Customer.name,
            Tenant.moniker,
            grouped.c.kind,
            grouped.c.quantity,
            grouped.c.cost,
        )
        .join(Endpoint, Endpoint.id == grouped.c.endpoint_id)
        .join(Customer, Customer.id == Endpoint.customer_id)
        .join(Tenant, Tenant.id == Endpoint.tenant_id)
        .order_by(grouped.c.endpoint_id, grouped.c.kind)
    )


async def stream_rows(
    session: AsyncSession, report: UsageReport, tenant_depth: int
) -> AsyncIterator[ReportRow]:
    """The report's rows through a server-side cursor: flat memory whatever their number."""
    stmt = rows_query(report, tenant_depth).execution_options(yield_per=2_000)
    result = await session.stream(stmt)
    async for row in result:
        yield (row[0], row[1], row[2], row[3], row[4], str(row[5]), row[6], row[7])


async def signing_key(session: AsyncSession) -> str | None:
    return await session.scalar(sa.select(AppSecret.value).where(AppSecret.name == SIGNING_KEY))


async def create_signing_key(session: AsyncSession) -> None:
    """Make the key download links are signed with, unless a process already did."""
    await session.execute(
        insert(AppSecret)
        .values(name=SIGNING_KEY, value=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=[AppSecret.name])
    )

"""All SQL about usage reports: the rows they hold, their chunks, their signing key."""

import secrets
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.db.sqltext import global_id
from tenantry.ledger.money_sql import display_amount
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


def report_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on reports: those of tenants in scope (both read paths)."""
    return scope.owned_by_visible_tenant(UsageReport.tenant_id)


async def get(session: AsyncSession, scope: Scope, report_id: int) -> UsageReport | None:
    stmt = sa.select(UsageReport).where(UsageReport.id == report_id, report_filter(scope))
    return await session.scalar(stmt)


async def get_unscoped(session: AsyncSession, report_id: int) -> UsageReport | None:
    """For workers and signed downloads, which carry their own authority."""
    return await session.get(UsageReport, report_id, populate_existing=True)


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[UsageReport]:
    stmt = sa.select(UsageReport).where(any_of(UsageReport.id, ids), report_filter(scope))
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
        report_filter(scope),
        descending=True,
    )


async def counts(session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]) -> dict[int, int]:
    return await counts_by_key(session, UsageReport.tenant_id, tenant_ids, report_filter(scope))


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
    await session.execute(
        sa.insert(UsageReportChunk).values(
            report_id=report.id, seq=seq, tenant_id=report.tenant_id, data=data
        )
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


def _in_scope(tenant_id: Any, report: UsageReport) -> sa.ColumnElement[bool]:
    """Rows of the report's tenant, and of its sub-tree when the report includes it."""
    if report.include_descendants:
        below = sa.select(Tenant.id).where(
            Tenant.path.contains(sa.literal([report.tenant_id], Tenant.path.type))
        )
        return tenant_id.in_(below)  # type: ignore[no-any-return]
    return tenant_id == report.tenant_id  # type: ignore[no-any-return]


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


def _rows(
    report: UsageReport,
    tenant_depth: int,
    columns: Callable[[sa.Subquery], list[Any]],
) -> sa.Select[Any]:
    """The report's rows, in endpoint order, as ``columns`` shows them."""
    grouped = _grouped(report, tenant_depth)
    return (
        sa.select(*columns(grouped))
        .select_from(grouped)
        .join(Endpoint, Endpoint.id == grouped.c.endpoint_id)
        .join(Customer, Customer.id == Endpoint.customer_id)
        .join(Tenant, Tenant.id == Endpoint.tenant_id)
        .order_by(grouped.c.endpoint_id, grouped.c.kind)
    )


def rows_query(report: UsageReport, tenant_depth: int) -> sa.Select[Any]:
    """The report's rows as PostgreSQL holds them (what the benchmark's baseline copies)."""
    return _rows(
        report,
        tenant_depth,
        lambda grouped: [
            grouped.c.endpoint_id,
            Endpoint.iccid,
            Endpoint.name,
            Customer.name,
            Tenant.moniker,
            grouped.c.kind,
            grouped.c.quantity,
            grouped.c.cost,
        ],
    )


# A spreadsheet takes a cell that starts with one of these for a formula (OWASP, "CSV
# Injection"): such a text cell gets a leading ' and shows as the text it is. Numbers are
# written by us and never negative (quantities and charges are not), so they stay numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: Any) -> sa.ColumnElement[str]:
    """Text as the CSV shows it: neutralized when a spreadsheet would run it."""
    return sa.case(
        (sa.func.left(value, 1).in_(FORMULA_STARTS), sa.literal("'", sa.Text) + value),
        else_=value,
    )


def csv_query(report: UsageReport, tenant_depth: int, currency: str) -> sa.Select[Any]:
    """The report's rows as its CSV shows them, labelled with its header: the endpoint's
    global id, text cells safe to open in a spreadsheet, quantities as ``core.decimals.plain``
    and costs as ``ledger.money.display_amount`` write them."""
    currency_cell = sa.literal(currency, sa.Text)
    return _rows(
        report,
        tenant_depth,
        lambda grouped: [
            global_id("Endpoint", grouped.c.endpoint_id).label("endpoint_id"),
            text_cell(Endpoint.iccid).label("iccid"),
            text_cell(Endpoint.name).label("endpoint_name"),
            text_cell(Customer.name).label("customer"),
            text_cell(Tenant.moniker).label("tenant_moniker"),
            sa.cast(grouped.c.kind, sa.Text).label("kind"),
            sa.cast(sa.func.trim_scale(grouped.c.quantity), sa.Text).label("quantity"),
            display_amount(grouped.c.cost, currency_cell).label("cost"),
            currency_cell.label("currency"),
        ],
    )


async def endpoint_id_range(session: AsyncSession, report: UsageReport) -> tuple[int, int] | None:
    """The lowest and highest id of the endpoints a report may cover: its rows come in
    endpoint order, so where a build is in this range says how far it has got."""
    stmt = sa.select(sa.func.min(Endpoint.id), sa.func.max(Endpoint.id)).where(
        _in_scope(Endpoint.tenant_id, report)
    )
    low, high = (await session.execute(stmt)).one()
    return None if low is None else (low, high)


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


async def copy_csv(
    connection: asyncpg.Connection,
    report: UsageReport,
    tenant_depth: int,
    currency: str,
    sink: Callable[[bytes], Coroutine[Any, Any, None]],
) -> int:
    """The report's CSV, header first, formatted by PostgreSQL and handed to ``sink`` piece by
    piece as it streams; returns the number of rows."""
    return await copy_out_csv(connection, csv_query(report, tenant_depth, currency), sink)


async def copy_out_csv(
    connection: asyncpg.Connection,
    query: sa.Select[Any],
    sink: Callable[[bytes], Coroutine[Any, Any, None]],
) -> int:
    """``COPY (query) TO STDOUT (FORMAT csv, HEADER)``: the labels are the header, line ends
    PostgreSQL's (LF). COPY takes no parameters: asyncpg has PostgreSQL quote the values as
    literals first. Returns the number of rows."""
    compiled = query.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    args = [compiled.params[name] for name in compiled.positiontup or ()]
    status = await connection.copy_from_query(
        str(compiled), *args, output=sink, format="csv", header=True
    )
    return int(status.split()[-1])


async def signing_key(session: AsyncSession) -> str | None:
    return await session.scalar(sa.select(AppSecret.value).where(AppSecret.name == SIGNING_KEY))


async def create_signing_key(session: AsyncSession) -> None:
    """Make the key download links are signed with, unless a process already did."""
    await session.execute(
        insert(AppSecret)
        .values(name=SIGNING_KEY, value=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=[AppSecret.name])
    )

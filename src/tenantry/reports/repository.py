"""All SQL about usage reports: the rows they hold, their chunks, their signing key."""

import functools
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope, workspace_of
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
from tenantry.usage import queries
from tenantry.usage.models import UsageRecord
from tenantry.usage.queries import Moment, Number

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


@dataclass(frozen=True)
class Claimed:
    """A report claimed for a build, with what the build needs to know besides."""

    report: UsageReport
    tenant_depth: int
    currency: str
    # The lowest and highest id of the endpoints the report may cover: its rows come in
    # endpoint order, so where a build is in this range says how far it has got. None: none.
    endpoints: tuple[int, int] | None


async def claim(
    session: AsyncSession, report_id: int, job_id: int, now: datetime
) -> Claimed | None:
    """PENDING -> RUNNING for the first job that asks, or RUNNING afresh for a retry of the job
    that had it (its worker died, or it met a transient error): other jobs get None. One
    statement, which also reads what the build needs: the tenant's depth and currency, and
    the range of the endpoints' ids."""
    tenant = sa.orm.aliased(Tenant, name="report_tenant")
    in_scope = _in_scope(Endpoint.tenant_id, UsageReport.tenant_id, UsageReport.include_descendants)

    def of_endpoints(aggregate: Any) -> Any:
        return sa.select(aggregate(Endpoint.id)).where(in_scope).correlate(UsageReport)

    def of_tenant(column: Any) -> Any:
        return (
            sa.select(column)
            .where(tenant.id == UsageReport.tenant_id)
            .correlate(UsageReport)
            .scalar_subquery()
        )

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
        .returning(
            UsageReport,
            of_tenant(sa.func.cardinality(tenant.path) - 1),
            of_tenant(tenant.currency),
            of_endpoints(sa.func.min).scalar_subquery(),
            of_endpoints(sa.func.max).scalar_subquery(),
        )
    )
    result = await session.execute(stmt, execution_options={"populate_existing": True})
    row = result.one_or_none()
    if row is None:
        return None
    report, depth, currency, low, high = row
    return Claimed(report, depth, currency, None if low is None else (low, high))


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


# Writes during a build go to the tables, not through the ORM: no object of theirs is in
# the session, and the ORM's bookkeeping per statement cost a small build a tenth of its time.
_reports = UsageReport.metadata.tables[UsageReport.__tablename__]
_chunks = UsageReportChunk.metadata.tables[UsageReportChunk.__tablename__]


async def set_progress(session: AsyncSession, report_id: int, **values: Any) -> None:
    await session.execute(sa.update(_reports).where(_reports.c.id == report_id).values(**values))


async def add_chunk(session: AsyncSession, report: UsageReport, seq: int, data: bytes) -> None:
    await session.execute(
        sa.insert(_chunks).values(
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


def _in_scope(tenant_id: Any, report_tenant_id: Any, subtree: Any) -> sa.ColumnElement[bool]:
    """Rows of the report's tenant, and of its sub-tree when the report includes it (columns
    of the report's row)."""
    below = sa.select(Tenant.id).where(
        Tenant.path.contains(pg_array([sa.type_coerce(report_tenant_id, sa.BigInteger)]))
    )
    return sa.or_(
        sa.and_(subtree, tenant_id.in_(below.correlate(UsageReport))),
        sa.and_(sa.not_(subtree), tenant_id == report_tenant_id),
    )


def _grouped(
    subtree: bool, tenant_id: Number, tenant_depth: Number, since: Moment, until: Moment
) -> sa.Subquery:
    """Usage per endpoint and kind in [since, until), with what the tenant paid for it (the
    same records and charges as ``Tenant.usage``: see usage.queries). Values or parameters.

    Only endpoints the tenant's own users see: a report sits in the tenant's section, and a
    managed tenant below keeps its workspace (endpoints, ICCIDs) to itself unless it opened
    it to its partner; the platform (depth 0) sees every workspace."""
    sees_all = sa.type_coerce(tenant_depth, sa.SmallInteger) == 0
    workspace = sa.select(Tenant.id).where(workspace_of(tenant_id)).correlate(None)
    in_workspace = UsageRecord.tenant_id.in_(workspace)
    rated = queries.rated_records(
        "tenant",
        tenant_id,
        tenant_depth,
        subtree=subtree,
        since=since,
        until=until,
        visible=sa.or_(sees_all, in_workspace),
    )
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


def _rows(grouped: sa.Subquery, columns: list[Any]) -> sa.Select[Any]:
    """The report's rows, in endpoint order, as ``columns`` (of ``grouped`` and the
    endpoint, its customer and tenant) show them."""
    return (
        sa.select(*columns)
        .select_from(grouped)
        .join(Endpoint, Endpoint.id == grouped.c.endpoint_id)
        .join(Customer, Customer.id == Endpoint.customer_id)
        .join(Tenant, Tenant.id == Endpoint.tenant_id)
        .order_by(grouped.c.endpoint_id, grouped.c.kind)
    )


def rows_query(report: UsageReport, tenant_depth: int) -> sa.Select[Any]:
    """The report's rows as PostgreSQL holds them (what the benchmark's baseline copies)."""
    grouped = _grouped(
        report.include_descendants,
        report.tenant_id,
        tenant_depth,
        report.period_start,
        report.period_end,
    )
    return _rows(
        grouped,
        [
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


# The CSV statement's parameters: what differs from one report to the next.
_CSV_PARAMETERS: dict[str, Any] = {
    "report_tenant_id": sa.BigInteger(),
    "report_tenant_depth": sa.SmallInteger(),
    "report_since": sa.DateTime(timezone=True),
    "report_until": sa.DateTime(timezone=True),
    "report_currency": sa.Text(),
}


def csv_query(subtree: bool) -> sa.Select[Any]:
    """The rows of a report (with or without the tenant's sub-tree) as its CSV shows them,
    labelled with its header, for the values of ``_CSV_PARAMETERS``: the endpoint's global
    id, text cells safe to open in a spreadsheet, quantities as ``core.decimals.plain`` and
    costs as ``ledger.money.display_amount`` write them."""
    bound: dict[str, sa.BindParameter[Any]] = {
        name: sa.bindparam(name, None, type_=type_) for name, type_ in _CSV_PARAMETERS.items()
    }
    grouped = _grouped(
        subtree,
        bound["report_tenant_id"],
        bound["report_tenant_depth"],
        bound["report_since"],
        bound["report_until"],
    )
    currency_cell = bound["report_currency"]
    return _rows(
        grouped,
        [
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


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # of the positional parameters, in order
    values: dict[str, Any]  # of the constants among them


def _compile(query: sa.Select[Any]) -> _Compiled:
    compiled = query.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    return _Compiled(str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))


@functools.cache
def _csv_statement(subtree: bool) -> _Compiled:
    """Compiled once per process and kind of report: building and compiling the statement
    took SQLAlchemy longer than PostgreSQL took to run a small report."""
    return _compile(csv_query(subtree))


async def copy_csv(
    connection: asyncpg.Connection,
    report: UsageReport,
    tenant_depth: int,
    currency: str,
    sink: Callable[[bytes], Coroutine[Any, Any, None]],
) -> int:
    """The report's CSV, header first, formatted by PostgreSQL and handed to ``sink`` piece by
    piece as it streams; returns the number of rows."""
    statement = _csv_statement(report.include_descendants)
    values = {
        **statement.values,
        "report_tenant_id": report.tenant_id,
        "report_tenant_depth": tenant_depth,
        "report_since": report.period_start,
        "report_until": report.period_end,
        "report_currency": currency,
    }
    return await _copy_out(connection, statement, values, sink)


async def copy_out_csv(
    connection: asyncpg.Connection,
    query: sa.Select[Any],
    sink: Callable[[bytes], Coroutine[Any, Any, None]],
) -> int:
    """``COPY (query) TO STDOUT (FORMAT csv, HEADER)``: the labels are the header, line ends
    PostgreSQL's (LF). Returns the number of rows."""
    statement = _compile(query)
    return await _copy_out(connection, statement, statement.values, sink)


async def _copy_out(
    connection: asyncpg.Connection,
    statement: _Compiled,
    values: dict[str, Any],
    sink: Callable[[bytes], Coroutine[Any, Any, None]],
) -> int:
    # COPY takes no parameters: asyncpg has PostgreSQL quote the values as literals first.
    args = [values[name] for name in statement.names]
    status = await connection.copy_from_query(
        statement.sql, *args, output=sink, format="csv", header=True
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

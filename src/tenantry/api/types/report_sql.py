"""Usage reports in the compiled read path (see ``report.py`` for the resolver path).

``downloadUrl`` does not compile: each answer signs a fresh link (an HMAC over an expiry
counted from the moment of the request), so only the resolver path can give it."""

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.compiler.sql import (
    Build,
    FieldSQL,
    column,
    global_id,
    iso_datetime,
    null_if,
    on,
)
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.reports import repository as reports_repo
from tenantry.reports.models import ReportStatus, UsageReport
from tenantry.settings import Settings


def report_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible report a row alias ``match``es (``repository.by_ids``)."""
    row = aliased(UsageReport)
    where = on(row, reports_repo.report_filter(b.scope))
    return b.row_object("UsageReport", row, fields, match(row), where)


def python_float(value: Any) -> sa.ColumnElement[Any]:
    """A float8 as the response's JSON encoder (orjson) writes a Python float: the shortest
    digits that read back exactly (PostgreSQL's too), with ``.0`` on whole numbers, in
    positional notation from 1e-5 up (PostgreSQL switches below 1e-4) and ``e-6`` where
    PostgreSQL writes ``e-06``. For values in [0, 1e15)."""
    text = sa.cast(value, sa.Text)
    digits = sa.func.replace(sa.func.split_part(text, "e", 1), ".", "")
    written = sa.case(
        (text.like("%e-05"), sa.literal("0.0000", sa.Text) + digits),
        (text.like("%e-0%"), sa.func.replace(text, "e-0", "e-")),
        (text.like("%e%"), text),
        (text.like("%.%"), text),
        else_=text + ".0",
    )
    return sa.cast(written, sa.JSON)


def _expires_at_arguments(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    """The retention (``report_retention_days``), in seconds: a parameter, not a setting
    built into shared SQL text."""
    return None, {"retention": settings.report_retention_days * 86_400}


def _expires_at(b: Build, r: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """``reports.service.expires_at``: completedAt plus the retention (absolute seconds,
    as Python adds a timedelta), null while unfinished."""
    retention = sa.func.make_interval(0, 0, 0, 0, 0, 0, b.param(f, "retention"))
    return iso_datetime(r.completed_at + retention)


def _succeeded(r: Any) -> sa.ColumnElement[bool]:
    succeeded: sa.ColumnElement[bool] = r.status == ReportStatus.SUCCEEDED
    return succeeded


USAGE_REPORT: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, r, f: global_id("UsageReport", r.id)),
    "from": FieldSQL(lambda b, r, f: iso_datetime(r.period_start)),
    "to": FieldSQL(lambda b, r, f: iso_datetime(r.period_end)),
    "includeDescendants": column("include_descendants"),
    "status": column("status"),
    "progress": FieldSQL(lambda b, r, f: python_float(r.progress)),
    "rowCount": column("row_count"),
    "createdAt": FieldSQL(lambda b, r, f: iso_datetime(r.created_at)),
    "completedAt": FieldSQL(lambda b, r, f: iso_datetime(r.completed_at)),
    "error": column("error"),
    # Null until SUCCEEDED (a Float: whole bytes with ``.0``).
    "byteSize": FieldSQL(
        lambda b, r, f: null_if(~_succeeded(r), python_float(sa.cast(r.byte_size, sa.Float)))
    ),
    "tenant": FieldSQL(lambda b, r, f: tenant_by(b, f.children, lambda row: row.id == r.tenant_id)),
    "expiresAt": FieldSQL(_expires_at, _expires_at_arguments),
}

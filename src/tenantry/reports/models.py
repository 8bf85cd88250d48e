"""Usage reports, built in the background and kept in PostgreSQL for download.

The CSV lives in ``usage_report_chunks`` (about 256 KB each, in order), so any API process
can stream it to a browser and no process holds a whole report in memory.
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin

# A report's build job carries this queueing lock plus the report id: procrastinate refuses a
# second waiting job for the same report, which makes queueing it again harmless.
BUILD_LOCK_PREFIX = "usage-report:"


class ReportStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class UsageReport(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "usage_reports"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    requested_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    period_start: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    include_descendants: Mapped[bool]
    status: Mapped[ReportStatus] = mapped_column(
        enum_type(ReportStatus, "report_status"), default=ReportStatus.PENDING
    )
    progress: Mapped[float] = mapped_column(default=0.0)
    row_count: Mapped[int | None]
    byte_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The queue job (procrastinate_jobs.id) building it: a retry of that job, after a crash or
    # a transient error, takes the build over; any other job for the report leaves it alone.
    build_job_id: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        # A tenant's reports section, newest first.
        sa.Index("ix_usage_reports_tenant_id_id", "tenant_id", "id"),
        # The sweeps: unfinished reports, and finished ones past their retention.
        sa.Index("ix_usage_reports_status_completed_at", "status", "completed_at"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )


class UsageReportChunk(Base):
    __tablename__ = "usage_report_chunks"

    report_id: Mapped[int] = mapped_column(
        sa.ForeignKey("usage_reports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class AppSecret(Base):
    """Secrets every process must agree on (the download-signing key), made on first use.

    Platform configuration, not tenant data: the one table without a tenant column."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200))

"""Runs of monthly endpoint fees: one per charged period, never two over the same time."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, CreatedAtMixin, IdMixin


class FeeRun(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "fee_runs"

    # The root tenant: fee runs are the platform's (only its users see them).
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    period_start: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # Endpoints that existed at some time in the period (free ones included).
    endpoint_count: Mapped[int] = mapped_column(sa.Integer)
    # The ENDPOINT_FEE transaction; NULL when every level of every endpoint was free.
    transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))

    __table_args__ = (
        # Runs take turns under an advisory lock (repository.lock_fee_runs); should a writer
        # ever skip it, this still refuses charging one period twice.
        sa.UniqueConstraint("period_start", "period_end", name="uq_fee_runs_period"),
        sa.CheckConstraint("period_start < period_end", name="period_not_empty"),
    )

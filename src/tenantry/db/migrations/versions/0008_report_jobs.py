"""reports: the job building each one; an index for the sweeps

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("usage_reports", sa.Column("build_job_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_usage_reports_status_completed_at",
        "usage_reports",
        ["status", "completed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_usage_reports_status_completed_at", table_name="usage_reports")
    op.drop_column("usage_reports", "build_job_id")

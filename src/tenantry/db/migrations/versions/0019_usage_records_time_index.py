"""usage records indexed by time alone (BRIN)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 01:00:00.000000

A range's partial days at its edges are read for every tenant at once (usage/rollups.py):
one scan of those days' records, which needs them by time whatever their tenant. A BRIN
index is a few pages per partition and costs ingestion next to nothing; records arrive in
about time order. Created on the partitioned table, so on every partition, and on the ones
made later.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_usage_records_time",
        "usage_records",
        ["occurred_at"],
        postgresql_using="brin",
        postgresql_with={"pages_per_range": 32},
    )


def downgrade() -> None:
    op.drop_index("ix_usage_records_time", table_name="usage_records")

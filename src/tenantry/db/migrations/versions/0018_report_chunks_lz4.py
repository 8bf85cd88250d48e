"""report chunks compressed with lz4

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-04 22:30:00.000000

A report's CSV is stored as it streams from PostgreSQL; pglz (the default) compresses each
256 KB chunk four times slower than lz4 (measured: 75 ms vs 17 ms for 2.3 MB, which took
about a third more room), and a build spent that long on it. A server built without lz4
keeps pglz. Chunks already stored keep their compression.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            ALTER TABLE usage_report_chunks ALTER COLUMN data SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported THEN
            NULL;  -- a server built without lz4: pglz it stays
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE usage_report_chunks ALTER COLUMN data SET COMPRESSION DEFAULT")

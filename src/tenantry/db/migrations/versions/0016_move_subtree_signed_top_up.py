"""moving a sub-tree and signed top-up links: usage keeps the path it was rated up; tenants
get a top-up secret

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-04 22:00:00.000000

``usage_records.rated_path`` is NULL for every record that exists (their tenants have never
moved: the path they were rated up is their tenant's current one). ``tenants.top_up_secret``
starts NULL for every tenant: a secret nobody has seen could not be given to a payment
page, so each tenant's admins create one with ``rotateTopUpSecret`` (shown to them once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("top_up_secret", sa.Text(), nullable=True))
    op.add_column(
        "usage_records",
        sa.Column("rated_path", postgresql.ARRAY(sa.BigInteger()), nullable=True),
    )
    op.create_index(
        "ix_usage_records_rated_path",
        "usage_records",
        ["rated_path"],
        postgresql_using="gin",
        postgresql_where=sa.text("rated_path IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_usage_records_rated_path", table_name="usage_records")
    op.drop_column("usage_records", "rated_path")
    op.drop_column("tenants", "top_up_secret")

"""moving a sub-tree and signed top-up links: where tenants sat before a move, for the usage
rated there; tenants get a top-up secret

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-04 22:00:00.000000

``tenant_placements`` starts empty and ``tenants.placed_after_record_id`` at 0: no tenant has
moved, so every usage record was rated up its tenant's current path. ``tenants.top_up_secret``
starts NULL for every tenant: a secret nobody has seen could not be given to a payment page,
so each tenant's admins create one with ``rotateTopUpSecret`` (shown to them once).

The downgrade forgets where moved tenants sat: their earlier usage then reads as if rated up
their current path.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("top_up_secret", sa.Text(), nullable=True))
    op.add_column(
        "tenants",
        sa.Column("placed_after_record_id", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_table(
        "tenant_placements",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("path", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("records_after", sa.BigInteger(), nullable=False),
        sa.Column("records_through", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "records_after <= records_through",
            name=op.f("ck_tenant_placements_records_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_placements_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_placements")),
    )
    op.create_index(
        "ix_tenant_placements_path", "tenant_placements", ["path"], postgresql_using="gin"
    )
    op.create_index("ix_tenant_placements_tenant_id", "tenant_placements", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_tenant_placements_tenant_id", table_name="tenant_placements")
    op.drop_index("ix_tenant_placements_path", table_name="tenant_placements")
    op.drop_table("tenant_placements")
    op.drop_column("tenants", "placed_after_record_id")
    op.drop_column("tenants", "top_up_secret")

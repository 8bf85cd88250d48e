"""usage rollups: daily totals per tenant, day and kind, own and sub-tree; backfilled

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-04 22:00:00.000000

Creates ``usage_rollups`` and fills it from the usage records already there, with the same
arithmetic as ``tenantry.usage.rollups`` (copied here, as a migration must not change when
the code does): each record counts for every tenant on its tenant's path, at its level.
The downgrade drops the table (the records keep everything it summed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO usage_rollups (tenant_id, day, kind,
    own_records, own_quantity, own_cost, own_revenue,
    tree_records, tree_quantity, tree_cost, tree_revenue)
SELECT a.tenant_id, CAST(timezone('UTC', r.occurred_at) AS date), r.kind,
    count(*) FILTER (WHERE a.tenant_id = r.tenant_id),
    coalesce(sum(r.quantity) FILTER (WHERE a.tenant_id = r.tenant_id), 0),
    coalesce(sum(coalesce(r.charges[r.depth - a.position + 3], 0))
             FILTER (WHERE a.tenant_id = r.tenant_id), 0),
    coalesce(sum(coalesce(r.charges[r.depth - a.position + 2], 0))
             FILTER (WHERE a.tenant_id = r.tenant_id), 0),
    count(*),
    sum(r.quantity),
    sum(coalesce(r.charges[r.depth - a.position + 3], 0)),
    sum(coalesce(r.charges[r.depth - a.position + 2], 0))
FROM usage_records r
JOIN tenants t ON t.id = r.tenant_id
CROSS JOIN LATERAL unnest(t.path) WITH ORDINALITY AS a(tenant_id, position)
GROUP BY 1, 2, 3
"""


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "DATA",
                "SMS",
                "VOICE",
                name="usage_rollup_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("own_records", sa.BigInteger(), nullable=False),
        sa.Column("own_quantity", sa.Numeric(), nullable=False),
        sa.Column("own_cost", sa.Numeric(), nullable=False),
        sa.Column("own_revenue", sa.Numeric(), nullable=False),
        sa.Column("tree_records", sa.BigInteger(), nullable=False),
        sa.Column("tree_quantity", sa.Numeric(), nullable=False),
        sa.Column("tree_cost", sa.Numeric(), nullable=False),
        sa.Column("tree_revenue", sa.Numeric(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_usage_rollups_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "day", "kind", name=op.f("pk_usage_rollups")),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("usage_rollups")

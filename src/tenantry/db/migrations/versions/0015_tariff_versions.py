"""tariff versions: rates and the monthly fee move to versions effective from an instant

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-04 22:00:00.000000

Every tariff gets a first version, effective from the tariff's creation (a first version
also rates usage from before it), holding its rates and monthly fee as they were: usage
and fees are charged as before.

The downgrade keeps, of each tariff, the version in force at the time of the downgrade:
later and earlier versions are lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tariff_versions",
        sa.Column("tariff_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("monthly_fee_per_endpoint", sa.Numeric(precision=24, scale=6), nullable=True),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_tariff_versions_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tariff_id"], ["tariffs.id"], name=op.f("fk_tariff_versions_tariff_id_tariffs")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tariff_versions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_versions")),
        sa.UniqueConstraint(
            "tariff_id",
            "effective_from",
            name=op.f("uq_tariff_versions_tariff_id_effective_from"),
        ),
    )
    op.create_index(
        op.f("ix_tariff_versions_tenant_id"), "tariff_versions", ["tenant_id"], unique=False
    )
    op.execute(
        "INSERT INTO tariff_versions "
        "(tariff_id, tenant_id, effective_from, monthly_fee_per_endpoint, created_at) "
        "SELECT id, tenant_id, created_at, monthly_fee_per_endpoint, created_at FROM tariffs"
    )
    op.add_column("tariff_rates", sa.Column("version_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE tariff_rates r SET version_id = v.id FROM tariff_versions v "
        "WHERE v.tariff_id = r.tariff_id"
    )
    op.alter_column("tariff_rates", "version_id", nullable=False)
    op.drop_constraint(op.f("pk_tariff_rates"), "tariff_rates", type_="primary")
    op.create_primary_key(op.f("pk_tariff_rates"), "tariff_rates", ["version_id", "kind"])
    op.create_foreign_key(
        op.f("fk_tariff_rates_version_id_tariff_versions"),
        "tariff_rates",
        "tariff_versions",
        ["version_id"],
        ["id"],
    )
    op.create_index(op.f("ix_tariff_rates_tariff_id"), "tariff_rates", ["tariff_id"], unique=False)
    op.drop_column("tariffs", "monthly_fee_per_endpoint")


# The version of each tariff in force now: the latest that has taken effect, or the first.
_IN_FORCE = """
    SELECT DISTINCT ON (tariff_id) id, tariff_id, monthly_fee_per_endpoint
    FROM tariff_versions
    ORDER BY tariff_id, effective_from <= now() DESC,
             CASE WHEN effective_from <= now() THEN effective_from END DESC, effective_from
"""


def downgrade() -> None:
    op.add_column(
        "tariffs",
        sa.Column("monthly_fee_per_endpoint", sa.Numeric(precision=24, scale=6), nullable=True),
    )
    op.execute(
        f"UPDATE tariffs t SET monthly_fee_per_endpoint = v.monthly_fee_per_endpoint "
        f"FROM ({_IN_FORCE}) v WHERE v.tariff_id = t.id"
    )
    op.execute(f"DELETE FROM tariff_rates WHERE version_id NOT IN (SELECT id FROM ({_IN_FORCE}) v)")
    op.drop_index(op.f("ix_tariff_rates_tariff_id"), table_name="tariff_rates")
    op.drop_constraint(
        op.f("fk_tariff_rates_version_id_tariff_versions"), "tariff_rates", type_="foreignkey"
    )
    op.drop_constraint(op.f("pk_tariff_rates"), "tariff_rates", type_="primary")
    op.create_primary_key(op.f("pk_tariff_rates"), "tariff_rates", ["tariff_id", "kind"])
    op.drop_column("tariff_rates", "version_id")
    op.drop_index(op.f("ix_tariff_versions_tenant_id"), table_name="tariff_versions")
    op.drop_table("tariff_versions")

"""endpoint fee runs, and the ENDPOINT_FEE / ENDPOINT_FEE_REVENUE transaction kinds

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ["TOP_UP", "DEBIT", "CREDIT", "USAGE_CHARGE", "USAGE_REVENUE", "PLAN_FEE"]
_FEE_KINDS = ["ENDPOINT_FEE", "ENDPOINT_FEE_REVENUE"]
# Kinds are VARCHAR columns with a CHECK constraint (core/dbtypes.py: enum_type), not
# PostgreSQL enum types: a new value is a new constraint.
_CHECKS = [
    ("ledger_transactions", "ck_ledger_transactions_transaction_kind"),
    ("postings", "ck_postings_posting_kind"),
]


def _set_kinds(kinds: list[str]) -> None:
    allowed = ", ".join(f"'{kind}'" for kind in kinds)
    for table, name in _CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, sa.text(f"kind IN ({allowed})"))


def upgrade() -> None:
    _set_kinds(_KINDS + _FEE_KINDS)
    op.create_table(
        "fee_runs",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("endpoint_count", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("period_start < period_end", name=op.f("ck_fee_runs_period_not_empty")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_fee_runs_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_fee_runs_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_runs")),
        sa.UniqueConstraint("period_start", "period_end", name="uq_fee_runs_period"),
    )
    op.create_index(op.f("ix_fee_runs_tenant_id"), "fee_runs", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_fee_runs_tenant_id"), table_name="fee_runs")
    op.drop_table("fee_runs")
    # Refused while fee postings exist: postings are append-only, so none is dropped here.
    _set_kinds(_KINDS)

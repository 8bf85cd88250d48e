"""impersonations remember the API token that started them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("impersonations", sa.Column("source_token_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_impersonations_source_token_id_api_tokens"),
        "impersonations",
        "api_tokens",
        ["source_token_id"],
        ["id"],
    )
    op.create_index(
        op.f("ix_impersonations_source_token_id"),
        "impersonations",
        ["source_token_id"],
        unique=False,
    )
    # Live impersonations from before cannot be tied to their token: they end now (their
    # tokens would stop working anyway, as authentication needs the source token).
    op.execute(
        "UPDATE impersonations SET ended_at = least(now(), expires_at) WHERE ended_at IS NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_impersonations_source_token_id"), table_name="impersonations")
    op.drop_constraint(
        op.f("fk_impersonations_source_token_id_api_tokens"), "impersonations", type_="foreignkey"
    )
    op.drop_column("impersonations", "source_token_id")

"""voice by the second: VOICE quantities and increments in seconds, rates get a minimum

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 05:40:00.000000

VOICE quantities were minutes and are now seconds (prices stay per minute), so recorded
VOICE usage and VOICE increments are multiplied by 60. Every rate gets a minimum (in the
quantity's unit), 0 for the rates that exist: they bill as before. Rated charges stay as
they are: they were right for what happened.

The downgrade divides by 60 again, which is exact for everything recorded before the
upgrade; seconds recorded later are kept to the column's 6 places, and minimums are lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tariff_rates",
        sa.Column("minimum", sa.Numeric(precision=24, scale=6), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_tariff_rates_minimum_not_negative"), "tariff_rates", "minimum >= 0"
    )
    op.execute("UPDATE tariff_rates SET increment = increment * 60 WHERE kind = 'VOICE'")
    op.execute("UPDATE usage_records SET quantity = quantity * 60 WHERE kind = 'VOICE'")


def downgrade() -> None:
    op.execute("UPDATE usage_records SET quantity = quantity / 60 WHERE kind = 'VOICE'")
    # An increment rounded to nothing would break its check: keep the smallest there is.
    op.execute(
        "UPDATE tariff_rates SET increment = greatest(round(increment / 60, 6), 0.000001) "
        "WHERE kind = 'VOICE'"
    )
    op.drop_constraint(op.f("ck_tariff_rates_minimum_not_negative"), "tariff_rates", type_="check")
    op.drop_column("tariff_rates", "minimum")

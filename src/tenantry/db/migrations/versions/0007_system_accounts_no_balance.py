"""system accounts keep no stored balance

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:40:00.000000

System accounts (FUNDING, ADJUSTMENTS) stand on the other side of every top-up and
adjustment in their currency. A stored balance there was one row every top-up locked, and
one that legal top-ups could push past NUMERIC(24, 6). Their balance is now the sum of
their postings, computed when read; their postings carry no running balance.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("accounts", "balance", existing_type=sa.Numeric(24, 6), nullable=True)
    op.alter_column("postings", "balance_after", existing_type=sa.Numeric(24, 6), nullable=True)
    op.execute("UPDATE accounts SET balance = NULL WHERE owner_kind = 'SYSTEM'")
    op.execute(
        "UPDATE postings SET balance_after = NULL WHERE account_id IN "
        "(SELECT id FROM accounts WHERE owner_kind = 'SYSTEM')"
    )
    op.create_check_constraint(
        op.f("ck_accounts_balance_unless_system"),
        "accounts",
        "(owner_kind = 'SYSTEM') = (balance IS NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_accounts_balance_unless_system"), "accounts", type_="check")
    op.execute(
        "UPDATE accounts a SET balance = COALESCE("
        "(SELECT sum(p.amount) FROM postings p WHERE p.account_id = a.id), 0) "
        "WHERE owner_kind = 'SYSTEM'"
    )
    op.execute(
        "UPDATE postings p SET balance_after = r.running FROM ("
        " SELECT id, sum(amount) OVER (PARTITION BY account_id ORDER BY id) AS running"
        " FROM postings WHERE balance_after IS NULL) r WHERE p.id = r.id"
    )
    op.alter_column("postings", "balance_after", existing_type=sa.Numeric(24, 6), nullable=False)
    op.alter_column("accounts", "balance", existing_type=sa.Numeric(24, 6), nullable=False)

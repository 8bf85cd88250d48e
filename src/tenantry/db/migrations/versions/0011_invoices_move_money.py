"""invoices move money: numbers, billing entity codes, PLAN_FEE against REVENUE

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:40:00.000000

- system_purpose gains REVENUE: the platform's account that partners' plan fees credit.
  Downgrading is refused once a plan fee has posted (postings are append-only).
- billing_entities gain ``code`` (the invoice number prefix); existing entities get one made
  from their name as ``createBillingEntity`` would (first three letters or digits, upper
  case, a counter appended when taken).
- invoices gain ``number`` and ``posting_id``. Existing invoices are numbered per entity and
  year issued, in the order they were issued; they moved no money, so ``posting_id`` stays
  NULL (nothing is posted for them after the fact).
- invoice_number_counters: the last number per entity and year.
- Partners without a billing entity get the platform's only one when there is exactly one
  (the flag now requires an entity); with several, they keep none until an admin chooses.
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _code_from_name(name: str, taken: set[str]) -> str:
    # Frozen copy of partners.service.default_code: a migration must not change with the app.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub("[^A-Z0-9]", "", ascii_name.upper())[:3]
    if len(base) < 2:
        base = "BE"
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}{n}"
    return code


def upgrade() -> None:
    # system_purpose is a VARCHAR with a CHECK (core/dbtypes.enum_type), not a native enum.
    op.drop_constraint(op.f("ck_accounts_system_purpose"), "accounts", type_="check")
    op.create_check_constraint(
        op.f("ck_accounts_system_purpose"),
        "accounts",
        "system_purpose IN ('FUNDING', 'ADJUSTMENTS', 'REVENUE')",
    )

    bind = op.get_bind()
    op.add_column("billing_entities", sa.Column("code", sa.String(10), nullable=True))
    taken: set[str] = set()
    for entity_id, name in bind.execute(
        sa.text("SELECT id, name FROM billing_entities ORDER BY id")
    ):
        code = _code_from_name(name, taken)
        taken.add(code)
        bind.execute(
            sa.text("UPDATE billing_entities SET code = :code WHERE id = :id"),
            {"code": code, "id": entity_id},
        )
    op.alter_column("billing_entities", "code", existing_type=sa.String(10), nullable=False)
    op.create_unique_constraint(op.f("uq_billing_entities_code"), "billing_entities", ["code"])

    op.create_table(
        "invoice_number_counters",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("billing_entity_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invoice_number_counters_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["billing_entity_id"],
            ["billing_entities.id"],
            name=op.f("fk_invoice_number_counters_billing_entity_id_billing_entities"),
        ),
        sa.PrimaryKeyConstraint(
            "billing_entity_id", "year", name=op.f("pk_invoice_number_counters")
        ),
    )

    op.add_column("invoices", sa.Column("number", sa.String(32), nullable=True))
    op.add_column("invoices", sa.Column("posting_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_invoices_posting_id_postings"), "invoices", "postings", ["posting_id"], ["id"]
    )
    op.execute(
        """
        WITH numbered AS (
          SELECT i.id, e.code, e.tenant_id, i.billing_entity_id,
                 extract(year FROM i.created_at AT TIME ZONE 'UTC')::int AS year,
                 row_number() OVER (
                   PARTITION BY i.billing_entity_id,
                                extract(year FROM i.created_at AT TIME ZONE 'UTC')
                   ORDER BY i.created_at, i.id) AS seq
          FROM invoices i JOIN billing_entities e ON e.id = i.billing_entity_id
        ), numbering AS (
          UPDATE invoices i SET number = n.code || '-' || n.year || '-' || lpad(n.seq::text, 6, '0')
          FROM numbered n WHERE n.id = i.id
        )
        INSERT INTO invoice_number_counters (tenant_id, billing_entity_id, year, last_number)
        SELECT min(tenant_id), billing_entity_id, year, max(seq) FROM numbered
        GROUP BY billing_entity_id, year
        """
    )
    op.alter_column("invoices", "number", existing_type=sa.String(32), nullable=False)
    op.create_unique_constraint(op.f("uq_invoices_number"), "invoices", ["number"])

    op.execute(
        """
        WITH only_entity AS (
          SELECT min(id) AS id FROM billing_entities HAVING count(*) = 1
        ), partners AS (
          UPDATE tenants t SET billing_entity_id = o.id FROM only_entity o
          WHERE t.is_partner AND t.billing_entity_id IS NULL
          RETURNING t.id
        )
        UPDATE tenants m SET billing_entity_id = o.id FROM only_entity o, partners p
        WHERE m.parent_id = p.id AND m.kind = 'MANAGED'
        """
    )


def downgrade() -> None:
    if op.get_bind().scalar(
        sa.text("SELECT count(*) FROM accounts WHERE system_purpose = 'REVENUE'")
    ):
        raise RuntimeError("Invoices have moved money (PLAN_FEE): 0011 cannot be undone.")
    op.drop_constraint(op.f("uq_invoices_number"), "invoices", type_="unique")
    op.drop_constraint(op.f("fk_invoices_posting_id_postings"), "invoices", type_="foreignkey")
    op.drop_column("invoices", "posting_id")
    op.drop_column("invoices", "number")
    op.drop_table("invoice_number_counters")
    op.drop_constraint(op.f("uq_billing_entities_code"), "billing_entities", type_="unique")
    op.drop_column("billing_entities", "code")
    op.drop_constraint(op.f("ck_accounts_system_purpose"), "accounts", type_="check")
    op.create_check_constraint(
        op.f("ck_accounts_system_purpose"),
        "accounts",
        "system_purpose IN ('FUNDING', 'ADJUSTMENTS')",
    )

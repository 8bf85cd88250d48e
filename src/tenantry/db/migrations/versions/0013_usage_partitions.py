"""usage partitions: usage_records partitioned by month; event ids in usage_event_ids

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:00:00.000000

usage_records becomes a table partitioned by RANGE (occurred_at), one partition a month
(``usage_records_yYYYYmMM``, made by ``usage_records_partition(timestamptz)``, which the
application calls on demand and a periodic job calls ahead of time), with its indexes on
every partition. The primary key becomes (id, occurred_at) and the unique event id moves to
``usage_event_ids``: a unique index on a partitioned table must include the partition key.

Existing rows are copied, ids kept, into partitions for the months they fall in. The
downgrade copies the rows of the attached partitions back into one plain table.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "id, tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges, occurred_at, "
    "event_id, ingested_at"
)
INDEXES = ("tenant", "endpoint", "customer")

# The month's partition of usage_records, created (and attached) unless it exists; safe
# under concurrency. It is made as a plain table with the range as a CHECK and then
# attached: ATTACH takes SHARE UPDATE EXCLUSIVE on usage_records, so ingestion and reads go
# on meanwhile (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE), and the CHECK
# spares the scan. Concurrent creators of any month queue on one advisory lock and look
# again, with a new snapshot, once they hold it.
PARTITION_FUNCTION = """
CREATE FUNCTION usage_records_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
    lower_bound timestamptz := month AT TIME ZONE 'UTC';
    upper_bound timestamptz := (month + interval '1 month') AT TIME ZONE 'UTC';
    name text := 'usage_records_y' || to_char(month, 'YYYY"m"MM');
BEGIN
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN name;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('usage_records_partition'));
    IF EXISTS (SELECT 1 FROM pg_class
               WHERE relname = name AND relnamespace = current_schema()::regnamespace) THEN
        RETURN name;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I (LIKE usage_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
        'CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L))',
        name, name || '_range', lower_bound, upper_bound);
    EXECUTE format(
        'ALTER TABLE usage_records ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        name, lower_bound, upper_bound);
    RETURN name;
END
$$
"""


def _kind() -> sa.Enum:
    return sa.Enum(
        "DATA",
        "SMS",
        "VOICE",
        name="usage_record_kind",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def _columns() -> list[Any]:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("charges", postgresql.ARRAY(sa.Numeric(precision=24, scale=6)), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_usage_records_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_usage_records_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["endpoints.id"], name=op.f("fk_usage_records_endpoint_id_endpoints")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_usage_records_tenant_id_tenants")
        ),
    ]


def _set_aside(old: str, index_names: list[str]) -> None:
    """Rename usage_records, its indexes and its id sequence out of the new table's way."""
    op.execute(f"ALTER TABLE usage_records RENAME TO {old}")
    for index in index_names:
        op.execute(f"ALTER INDEX {index} RENAME TO {index}_{old}")
    op.execute(f"ALTER SEQUENCE usage_records_id_seq RENAME TO {old}_id_seq")


def _create_indexes() -> None:
    for owner in INDEXES:
        op.create_index(
            f"ix_usage_records_{owner}_time", "usage_records", [f"{owner}_id", "occurred_at"]
        )


def _copy_from(old: str) -> None:
    op.execute(f"INSERT INTO usage_records ({COLUMNS}) SELECT {COLUMNS} FROM {old}")
    op.execute(f"SELECT setval(pg_get_serial_sequence('usage_records', 'id'), max(id)) FROM {old}")


def upgrade() -> None:
    old = "usage_records_unpartitioned"
    _set_aside(
        old,
        ["pk_usage_records", "uq_usage_records_event_id"]
        + [f"ix_usage_records_{owner}_time" for owner in INDEXES],
    )
    op.create_table(
        "usage_records",
        *_columns(),
        sa.PrimaryKeyConstraint("id", "occurred_at", name=op.f("pk_usage_records")),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    _create_indexes()
    op.create_table(
        "usage_event_ids",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_usage_event_ids_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_usage_event_ids")),
    )
    op.execute(PARTITION_FUNCTION)
    op.execute(
        "SELECT usage_records_partition(m.at) FROM (SELECT DISTINCT date_trunc('month', "
        f"occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS at FROM {old}) AS m"
    )
    _copy_from(old)
    op.execute(
        f"INSERT INTO usage_event_ids (event_id, tenant_id, occurred_at) "
        f"SELECT event_id, tenant_id, occurred_at FROM {old}"
    )
    op.drop_table(old)


def downgrade() -> None:
    old = "usage_records_partitioned"
    _set_aside(old, ["pk_usage_records"] + [f"ix_usage_records_{owner}_time" for owner in INDEXES])
    op.create_table(
        "usage_records",
        *_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        sa.UniqueConstraint("event_id", name=op.f("uq_usage_records_event_id")),
    )
    _create_indexes()
    _copy_from(old)
    op.drop_table(old)
    op.drop_table("usage_event_ids")
    op.execute("DROP FUNCTION usage_records_partition(timestamptz)")

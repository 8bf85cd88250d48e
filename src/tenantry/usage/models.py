"""Usage records and what each level of the tree paid for them.

A record at endpoint E of customer C under tenant S is rated at every level: C pays S by
C's tariff (level 0), S pays its parent by S's tenant tariff (level 1), and so on up to the
root. Each level's charge is kept on the record itself, in ``charges[level + 1]`` (SQL
arrays start at 1), next to the ``depth`` of S. A tenant T at depth d therefore paid
``charges[depth - d + 2]`` for the record and earned ``charges[depth - d + 1]``: what any
tenant's usage cost and earned is one indexed scan of one table, written once per record
(five rows per record in a separate charges table cost more than the whole rest of the
ingestion). Charges keep 6 decimal places and are never rounded per record; the ledger
moves their sums, one transfer per ingested batch.

The table is partitioned by month of ``occurred_at`` (``usage_records_yYYYYmMM``, each with
its own indexes; see partitions.py). A unique index on a partitioned table must include the
partition key, so idempotency by event id lives in ``usage_event_ids``: one row per event
ever recorded, claimed in the same statement that inserts the record.

``UsageRollup`` keeps the same figures as daily totals (UTC days) per tenant and kind, for a
tenant's own customers and for its whole sub-tree, so that a range of whole days costs an
index range scan whatever the number of records (see rollups.py).

``depth`` and ``charges`` describe the path the record was rated up: its tenant's current
``path`` unless the tenant has moved since. A move (tenants/move.py) rewrites no record: it
notes in ``tenant_placements`` which records each moved tenant had (an id range) and the path
they were rated up, so they stay in the figures of the tenants they were charged to (old
ancestors keep them; new ancestors get only what is rated after the move), each tenant's
level on a record being its place on that path (``usage.repository``).
"""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base
from tenantry.ledger.models import MONEY
from tenantry.tariffs.models import UsageKind


class UsageRecord(Base):
    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)

    # The endpoint's tenant.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    kind: Mapped[UsageKind] = mapped_column(enum_type(UsageKind, "usage_record_kind"))
    quantity: Mapped[Decimal] = mapped_column(MONEY)
    # Depth of the endpoint's tenant, and each level's charge (index 1 is level 0).
    depth: Mapped[int] = mapped_column(sa.SmallInteger)
    charges: Mapped[list[Decimal]] = mapped_column(ARRAY(MONEY))
    # The partition key, so part of the primary key.
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    # Chosen by the caller: ingesting the same event twice records and charges it once
    # (unique through usage_event_ids).
    event_id: Mapped[str] = mapped_column(sa.String(200))
    ingested_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.Index("ix_usage_records_tenant_time", "tenant_id", "occurred_at"),
        sa.Index("ix_usage_records_endpoint_time", "endpoint_id", "occurred_at"),
        sa.Index("ix_usage_records_customer_time", "customer_id", "occurred_at"),
        # Every tenant's records in a time range (the partial days at a range's edges,
        # rollups.py). BRIN: a few pages per partition, next to nothing for ingestion to keep,
        # and records come in about time order.
        sa.Index(
            "ix_usage_records_time",
            "occurred_at",
            postgresql_using="brin",
            postgresql_with={"pages_per_range": 32},
        ),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )


class UsageEvent(Base):
    """An event id recorded once, whichever month's partition holds its record."""

    __tablename__ = "usage_event_ids"

    event_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    # The record's tenant and time: where to find it.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


# Rollup sums are unbounded NUMERIC: a day's sum of bounded amounts may pass NUMERIC(24, 6).
SUM = sa.Numeric()


class UsageRollup(Base):
    """One UTC day of one kind of usage, seen from one tenant.

    ``own_*`` sum the records of the tenant's own customers (the records at its level);
    ``tree_*`` sum every record of its sub-tree, its own included. Both sets share one row
    per (tenant, day, kind), so one upsert maintains both and a read of either touches the
    same rows. ``cost`` is what the tenant paid its parent for the records, ``revenue`` what
    it earned from the level below; ``records`` counts them, so that a kind with records
    whose quantity is 0 still shows, as it does when the records are summed.
    """

    __tablename__ = "usage_rollups"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[UsageKind] = mapped_column(
        enum_type(UsageKind, "usage_rollup_kind"), primary_key=True
    )
    own_records: Mapped[int] = mapped_column(sa.BigInteger)
    own_quantity: Mapped[Decimal] = mapped_column(SUM)
    own_cost: Mapped[Decimal] = mapped_column(SUM)
    own_revenue: Mapped[Decimal] = mapped_column(SUM)
    tree_records: Mapped[int] = mapped_column(sa.BigInteger)
    tree_quantity: Mapped[Decimal] = mapped_column(SUM)
    tree_cost: Mapped[Decimal] = mapped_column(SUM)
    tree_revenue: Mapped[Decimal] = mapped_column(SUM)

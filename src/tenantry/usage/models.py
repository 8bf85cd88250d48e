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

``depth`` and ``charges`` describe the path the record was rated up: its tenant's current
``path`` unless the tenant has moved since. A move (tenants/move.py) rewrites no record: it
notes in ``tenant_placements`` which records each moved tenant had (an id range) and the path
they were rated up, so they stay in the figures of the tenants they were charged to (old
ancestors keep them; new ancestors get only what is rated after the move), each tenant's
level on a record being its place on that path (``usage.repository``).
"""

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, IdMixin
from tenantry.ledger.models import MONEY
from tenantry.tariffs.models import UsageKind


class UsageRecord(IdMixin, Base):
    __tablename__ = "usage_records"

    # The endpoint's tenant.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    kind: Mapped[UsageKind] = mapped_column(enum_type(UsageKind, "usage_record_kind"))
    quantity: Mapped[Decimal] = mapped_column(MONEY)
    # Depth of the endpoint's tenant, and each level's charge (index 1 is level 0).
    depth: Mapped[int] = mapped_column(sa.SmallInteger)
    charges: Mapped[list[Decimal]] = mapped_column(ARRAY(MONEY))
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # Chosen by the caller: ingesting the same event twice records and charges it once.
    event_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    ingested_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.Index("ix_usage_records_tenant_time", "tenant_id", "occurred_at"),
        sa.Index("ix_usage_records_endpoint_time", "endpoint_id", "occurred_at"),
        sa.Index("ix_usage_records_customer_time", "customer_id", "occurred_at"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

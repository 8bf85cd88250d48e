"""Usage records and what each level of the tree paid for them.

A record at endpoint E of customer C under tenant S is rated at every level: C pays S by
C's tariff (level 0), S pays its parent by S's tenant tariff (level 1), and so on up to the
root. Each level's charge is kept (``usage_charges``) so any tenant can see what usage cost
it and what it earned from below. Charges keep 6 decimal places and are never rounded per
record; the ledger moves their sums, one transfer per ingested batch.
"""

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
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


class UsageCharge(Base):
    """What one payer paid one payee for one record (only non-zero charges are kept)."""

    __tablename__ = "usage_charges"

    usage_record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("usage_records.id"), primary_key=True
    )
    # 0: the customer pays its tenant; 1: that tenant pays its parent; ...
    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    # The payee tenant (the tenant column: the charge is its revenue).
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    payer_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    payer_customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    # Copied from the record so every usage question is answered from one indexed table.
    record_tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    kind: Mapped[UsageKind] = mapped_column(enum_type(UsageKind, "usage_charge_kind"))
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)

    __table_args__ = (
        sa.Index("ix_usage_charges_payee_time", "tenant_id", "occurred_at"),
        sa.Index("ix_usage_charges_payer_tenant_time", "payer_tenant_id", "occurred_at"),
        sa.Index("ix_usage_charges_payer_customer_time", "payer_customer_id", "occurred_at"),
        sa.Index("ix_usage_charges_endpoint_time", "endpoint_id", "occurred_at"),
        sa.CheckConstraint(
            "(payer_tenant_id IS NULL) <> (payer_customer_id IS NULL)", name="one_payer"
        ),
    )

"""Tariffs: what one level of the tree charges the level below for usage."""

from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin
from tenantry.ledger.models import MONEY


class UsageKind(StrEnum):
    DATA = "DATA"  # per MB
    SMS = "SMS"  # per message
    VOICE = "VOICE"  # per minute


class Tariff(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "tariffs"

    # The owner: the tenant that charges by this tariff, in its currency.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    monthly_fee_per_endpoint: Mapped[Decimal | None] = mapped_column(MONEY)


class TariffRate(Base):
    __tablename__ = "tariff_rates"

    tariff_id: Mapped[int] = mapped_column(sa.ForeignKey("tariffs.id"), primary_key=True)
    kind: Mapped[UsageKind] = mapped_column(enum_type(UsageKind, "usage_kind"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    # Quantities are rounded up to a multiple of this before pricing (e.g. 1 MB, 60 s).
    increment: Mapped[Decimal] = mapped_column(MONEY)

    __table_args__ = (
        sa.CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        sa.CheckConstraint("increment > 0", name="increment_positive"),
    )

"""Tariffs: what one level of the tree charges the level below for usage."""

from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin
from tenantry.ledger.models import MONEY


class UsageKind(StrEnum):
    DATA = "DATA"  # quantities in MB, priced per MB
    SMS = "SMS"  # quantities in messages, priced per message
    VOICE = "VOICE"  # quantities in seconds, priced per minute


# How many units of quantity one unit price buys: a VOICE price is per minute of 60 seconds.
UNITS_PER_PRICE = {UsageKind.DATA: 1, UsageKind.SMS: 1, UsageKind.VOICE: 60}


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
    # In the quantity's unit (MB, messages, seconds). A record's billable quantity is
    # max(minimum, quantity) rounded up to a multiple of the increment: VOICE "60/1" billing
    # is minimum 60, increment 1; "60/60" is whole minutes.
    increment: Mapped[Decimal] = mapped_column(MONEY)
    minimum: Mapped[Decimal] = mapped_column(MONEY, server_default="0")

    __table_args__ = (
        sa.CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        sa.CheckConstraint("increment > 0", name="increment_positive"),
        sa.CheckConstraint("minimum >= 0", name="minimum_not_negative"),
    )

"""Tariffs: what one level of the tree charges the level below for usage.

A tariff's prices live in its versions: each takes effect at an instant and is in force
until the next one does; the first also covers all time before it. Usage is rated by the
version in force when it occurred (see repository.py: ``rates_in_force``).
"""

from datetime import datetime
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


class TariffVersion(IdMixin, CreatedAtMixin, Base):
    """The prices of a tariff from ``effective_from`` until the next version's."""

    __tablename__ = "tariff_versions"

    tariff_id: Mapped[int] = mapped_column(sa.ForeignKey("tariffs.id"))
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    # The first version's is the tariff's creation, and it also rates usage from before.
    effective_from: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    monthly_fee_per_endpoint: Mapped[Decimal | None] = mapped_column(MONEY)
    # Who made the revision (null for versions made by the migration).
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.UniqueConstraint("tariff_id", "effective_from"),)


class TariffRate(Base):
    __tablename__ = "tariff_rates"

    version_id: Mapped[int] = mapped_column(sa.ForeignKey("tariff_versions.id"), primary_key=True)
    kind: Mapped[UsageKind] = mapped_column(enum_type(UsageKind, "usage_kind"), primary_key=True)
    tariff_id: Mapped[int] = mapped_column(sa.ForeignKey("tariffs.id"), index=True)
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

"""Customers of a tenant and their endpoints (SIMs and devices)."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin
from tenantry.tenants.models import SubscriptionType


class Customer(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "customers"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    subscription_type: Mapped[SubscriptionType] = mapped_column(
        enum_type(SubscriptionType, "subscription_type")
    )
    tariff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tariffs.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), unique=True)


class Endpoint(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "endpoints"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    iccid: Mapped[str] = mapped_column(sa.String(22), unique=True)
    sponsor_operator_id: Mapped[int] = mapped_column(sa.ForeignKey("sponsor_operators.id"))

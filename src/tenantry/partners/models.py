"""Partners and what they are billed for: billing entities, plan catalogs, the plans each
managed tenant was on (and when), and invoices.

A managed tenant's plans are kept as periods (plan, from, until) rather than a current
value: invoices prorate by the second, and a plan change mid-period must split the line.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin
from tenantry.ledger.models import MONEY


class BillingEntity(IdMixin, CreatedAtMixin, Base):
    """A legal entity of the platform that issues invoices. A platform catalog."""

    __tablename__ = "billing_entities"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)  # the root
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    country: Mapped[str] = mapped_column(sa.String(2))
    # The prefix of its invoice numbers: 2-10 uppercase ASCII letters or digits.
    code: Mapped[str] = mapped_column(sa.String(10), unique=True)


class InvoiceNumberCounter(Base):
    """The last invoice number a billing entity gave in a year.

    Numbering an invoice increments this row in the invoice's own transaction: the row stays
    locked until that transaction ends, so concurrent invoices of one entity take turns, and
    an invoice that rolls back gives its number back. Numbers are gapless."""

    __tablename__ = "invoice_number_counters"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))  # the root
    billing_entity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("billing_entities.id"), primary_key=True
    )
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(sa.Integer)


class PlanKind(StrEnum):
    TENANT = "TENANT"
    SUPPORT = "SUPPORT"


class Plan(IdMixin, CreatedAtMixin, Base):
    """One entry of a partner's catalog, priced per month in the partner's currency."""

    __tablename__ = "plans"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)  # the partner
    kind: Mapped[PlanKind] = mapped_column(enum_type(PlanKind, "plan_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    monthly_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))

    __table_args__ = (sa.CheckConstraint("monthly_price >= 0", name="price_not_negative"),)


class PlanPeriod(IdMixin, Base):
    """A managed tenant was on ``plan`` from ``started_at`` until ``ended_at`` (open: now)."""

    __tablename__ = "plan_periods"

    # The partner: the periods are what its invoices bill.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    managed_tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    kind: Mapped[PlanKind] = mapped_column(enum_type(PlanKind, "plan_period_kind"))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.Index("ix_plan_periods_partner", "tenant_id", "started_at"),
        # One open period per managed tenant and plan kind.
        sa.Index(
            "uq_plan_periods_open",
            "managed_tenant_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ordered"),
    )


class Invoice(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "invoices"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))  # the partner
    billing_entity_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_entities.id"))
    period_start: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(sa.String(3))
    total: Mapped[Decimal] = mapped_column(MONEY)
    # "<entity code>-<year issued, UTC>-<6-digit sequence>", gapless per entity and year.
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # The partner's PLAN_FEE posting; NULL for a zero invoice, which moves no money.
    posting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("postings.id"))

    __table_args__ = (
        # The same period twice is the same invoice.
        sa.UniqueConstraint("tenant_id", "period_start", "period_end", name="uq_invoices_period"),
        sa.Index("ix_invoices_tenant_id_id", "tenant_id", "id"),
    )


class InvoiceLine(IdMixin, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))  # the partner
    managed_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id"))
    description: Mapped[str] = mapped_column(sa.Text)
    period_start: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    amount: Mapped[Decimal] = mapped_column(MONEY)

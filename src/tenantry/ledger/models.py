"""Accounts and the double-entry ledger.

Every tenant and every customer has one account in its currency; system accounts (external
funding, adjustments) stand on the other side of top-ups and adjustments. A transaction's
postings sum to zero per currency. Postings are append-only; ``accounts.balance`` is kept
equal to the sum of the account's postings, under a row lock (see ``service.post_transfer``).

System accounts store no balance (NULL) and their postings no running balance: what they
hold is the sum of their postings, computed when read. Every top-up in a currency stands
against the same FUNDING account, so a stored balance there would be one row that every
top-up locks, and one that a run of legal top-ups could push past what NUMERIC(24, 6)
holds, failing every later top-up. Nothing is stored, so nothing can overflow or contend.
"""

from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin

# Rated usage keeps 6 decimal places; amounts people move use the currency's precision.
MONEY = sa.Numeric(24, 6)


class OwnerKind(StrEnum):
    TENANT = "TENANT"
    CUSTOMER = "CUSTOMER"
    SYSTEM = "SYSTEM"


class SystemPurpose(StrEnum):
    FUNDING = "FUNDING"  # money entering from outside (top-ups)
    ADJUSTMENTS = "ADJUSTMENTS"  # the other side of manual debits and credits
    REVENUE = "REVENUE"  # the platform's income: partners' plan fees


class TransactionKind(StrEnum):
    """Seen from one account: what a posting was."""

    TOP_UP = "TOP_UP"
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"
    USAGE_CHARGE = "USAGE_CHARGE"
    USAGE_REVENUE = "USAGE_REVENUE"
    PLAN_FEE = "PLAN_FEE"
    ENDPOINT_FEE = "ENDPOINT_FEE"  # an endpoint's monthly fee, paid to the level above
    ENDPOINT_FEE_REVENUE = "ENDPOINT_FEE_REVENUE"  # the same fee, earned from the level below


class Account(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "accounts"

    # The owning tenant; for a customer's account, the customer's tenant; for system
    # accounts, the root tenant.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    owner_kind: Mapped[OwnerKind] = mapped_column(enum_type(OwnerKind, "owner_kind"))
    system_purpose: Mapped[SystemPurpose | None] = mapped_column(
        enum_type(SystemPurpose, "system_purpose")
    )
    currency: Mapped[str] = mapped_column(sa.String(3))
    # NULL for system accounts: they keep no stored balance (see the module docstring).
    balance: Mapped[Decimal | None] = mapped_column(MONEY)
    credit_limit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    low_balance_threshold: Mapped[Decimal | None] = mapped_column(MONEY)

    __table_args__ = (
        # One account per tenant, one system account per purpose and currency.
        sa.Index(
            "uq_accounts_tenant_own",
            "tenant_id",
            unique=True,
            postgresql_where=sa.text("owner_kind = 'TENANT'"),
        ),
        sa.Index(
            "uq_accounts_system",
            "system_purpose",
            "currency",
            unique=True,
            postgresql_where=sa.text("owner_kind = 'SYSTEM'"),
        ),
        sa.CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
        sa.CheckConstraint(
            "(owner_kind = 'SYSTEM') = (system_purpose IS NOT NULL)", name="system_has_purpose"
        ),
        sa.CheckConstraint(
            "(owner_kind = 'SYSTEM') = (balance IS NULL)", name="balance_unless_system"
        ),
    )


class LedgerTransaction(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "ledger_transactions"

    # The tenant the request acted as (whose idempotency keys these are).
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_type(TransactionKind, "transaction_kind"))
    description: Mapped[str | None] = mapped_column(sa.Text)
    reference: Mapped[str | None] = mapped_column(sa.Text)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    # Digest of the request's input: the same key with other input is refused.
    request_digest: Mapped[str | None] = mapped_column(sa.String(64))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    impersonated_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))

    __table_args__ = (
        sa.Index(
            "uq_ledger_transactions_idempotency",
            "tenant_id",
            "idempotency_key",
            unique=True,
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        ),
    )


class Posting(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "postings"

    transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    # The account's tenant, so postings are scoped like everything else.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_type(TransactionKind, "posting_kind"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    # Signed from the account's view: positive credits it, negative debits it.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # NULL on system accounts, which keep no running balance.
    balance_after: Mapped[Decimal | None] = mapped_column(MONEY)

    __table_args__ = (
        # An account's history, newest first, keyset-paginated.
        sa.Index("ix_postings_account_id_id", "account_id", "id"),
    )

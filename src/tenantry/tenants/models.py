"""The tenant tree.

``path`` holds the ids from the root down to the tenant itself, so "descendants of T" is
``path @> ARRAY[T]`` and "ancestors of T" is ``id = ANY(T.path)``: one indexed statement
each (GIN on ``path``, the primary key). ``scope_path`` is the part of ``path`` whose
tenants see this one through sub-tenant edges only: a managed tenant starts a new scope,
so its partner's ancestors do not see into it (DESIGN.md, "Who sees what").
"""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin


class TenantKind(StrEnum):
    ROOT = "ROOT"
    SUB_TENANT = "SUB_TENANT"
    MANAGED = "MANAGED"


class SubscriptionType(StrEnum):
    INTEGRATED = "INTEGRATED"
    STANDALONE = "STANDALONE"


class TenantStatus(StrEnum):
    ACTIVE = "ACTIVE"


class Tenant(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "tenants"

    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    kind: Mapped[TenantKind] = mapped_column(enum_type(TenantKind, "tenant_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    moniker: Mapped[str] = mapped_column(sa.String(63), unique=True)
    path: Mapped[list[int]] = mapped_column(ARRAY(sa.BigInteger))
    scope_path: Mapped[list[int]] = mapped_column(ARRAY(sa.BigInteger))
    subscription_types: Mapped[list[str]] = mapped_column(ARRAY(sa.String(32)))
    inherit_sponsor_operators: Mapped[bool] = mapped_column(default=False)
    customer_top_up_url: Mapped[str | None] = mapped_column(sa.Text)
    # The key of this tenant's signed top-up links (HMAC-SHA256 over its UTF-8 text). NULL
    # until an admin rotates one: only they know it (``rotateTopUpSecret`` shows it once),
    # so a template with ``{signature}`` is refused while there is none.
    top_up_secret: Mapped[str | None] = mapped_column(sa.Text)
    # What the parent charges this tenant for its customers' usage (owned by the parent).
    tenant_tariff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tariffs.id", use_alter=True), index=True
    )
    # Given to new customers that name no tariff (owned by this tenant or an ancestor).
    default_customer_tariff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tariffs.id", use_alter=True), index=True
    )
    currency: Mapped[str] = mapped_column(sa.String(3))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    is_partner: Mapped[bool] = mapped_column(default=False)
    # A partner's (copied to its managed tenants): the entity issuing its invoices.
    billing_entity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("billing_entities.id", use_alter=True)
    )
    partner_access: Mapped[bool] = mapped_column(default=False)
    status: Mapped[TenantStatus] = mapped_column(
        enum_type(TenantStatus, "tenant_status"), default=TenantStatus.ACTIVE
    )
    # Usage records of this tenant with ids above this were rated up its current ``path``;
    # those up to it, before its last move, up the paths in ``tenant_placements``.
    placed_after_record_id: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, server_default="0"
    )

    __table_args__ = (
        sa.Index("ix_tenants_path", "path", postgresql_using="gin"),
        sa.Index("ix_tenants_scope_path", "scope_path", postgresql_using="gin"),
        # Exactly one root.
        sa.Index(
            "uq_tenants_single_root",
            sa.text("(parent_id IS NULL)"),
            unique=True,
            postgresql_where=sa.text("parent_id IS NULL"),
        ),
        sa.CheckConstraint("moniker ~ '^[a-z0-9_-]{1,63}$'", name="moniker_format"),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        sa.CheckConstraint("(parent_id IS NULL) = (kind = 'ROOT')", name="root_has_no_parent"),
    )

    @property
    def depth(self) -> int:
        return len(self.path) - 1


class TenantPlacement(IdMixin, CreatedAtMixin, Base):
    """Where a tenant sat before a move, for the usage rated while it sat there: its records
    with ids in (``records_after``, ``records_through``] were rated up ``path``. A move adds
    one row per moved tenant instead of rewriting its usage (usage.repository reads them)."""

    __tablename__ = "tenant_placements"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    path: Mapped[list[int]] = mapped_column(ARRAY(sa.BigInteger))
    records_after: Mapped[int] = mapped_column(sa.BigInteger)
    records_through: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.Index("ix_tenant_placements_path", "path", postgresql_using="gin"),
        sa.Index("ix_tenant_placements_tenant_id", "tenant_id"),
        sa.CheckConstraint("records_after <= records_through", name="records_in_order"),
    )

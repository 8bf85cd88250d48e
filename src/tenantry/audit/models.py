"""The audit log: every change, and every impersonation start and end."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, CreatedAtMixin, IdMixin


class AuditEvent(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "audit_events"

    # The tenant whose log shows it: the one the change was made in (or to).
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    # The real person, even while impersonating; and the tenant they were acting as.
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    impersonated_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    action: Mapped[str] = mapped_column(sa.String(100))
    target_type: Mapped[str | None] = mapped_column(sa.String(50))
    target_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    details: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_audit_events_tenant_id_id", "tenant_id", "id"),)

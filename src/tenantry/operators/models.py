"""Sponsor operators: a platform catalog, granted down the tree."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, CreatedAtMixin, IdMixin


class SponsorOperator(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "sponsor_operators"

    # The platform (root) tenant: the catalog is the platform's.
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)


class SponsorOperatorGrant(CreatedAtMixin, Base):
    """An operator granted to a tenant directly (inherited ones are derived, not stored)."""

    __tablename__ = "sponsor_operator_grants"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), primary_key=True)
    sponsor_operator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sponsor_operators.id"), primary_key=True
    )

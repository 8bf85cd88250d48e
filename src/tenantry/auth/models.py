"""Users and their API tokens. Tokens are stored as SHA-256 digests, never in clear."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.dbtypes import enum_type
from tenantry.db.base import Base, CreatedAtMixin, IdMixin


class Role(StrEnum):
    ADMIN = "ADMIN"
    VIEWER = "VIEWER"


class User(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "users"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))

    __table_args__ = (
        sa.Index("uq_users_tenant_email", "tenant_id", sa.text("lower(email)"), unique=True),
    )


class ApiToken(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Impersonation(IdMixin, Base):
    """An admin acting as a tenant below them for a while, with a token of its own."""

    __tablename__ = "impersonations"

    # The impersonated tenant (its audit log shows the start and the end).
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    actor_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    # The API token that started it: the impersonation dies with it (revoked or expired).
    # Null only for impersonations from before this was kept; those were ended then.
    source_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    read_only: Mapped[bool]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

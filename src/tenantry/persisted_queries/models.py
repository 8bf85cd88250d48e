"""GraphQL documents stored by their SHA-256: sent once by a client (Apollo's Automatic
Persisted Queries), or registered by an operator for the allow-list."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, CreatedAtMixin


class PersistedQuery(CreatedAtMixin, Base):
    __tablename__ = "persisted_queries"

    # Lowercase hex SHA-256 of the document's UTF-8 text, as Apollo's clients compute it.
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    document: Mapped[str] = mapped_column(sa.Text)
    # Registered by an operator (`tenantry persisted-queries register`): runs in
    # allow-list mode. Documents clients stored through APQ do not.
    allow_listed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    registered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

"""One token bucket per caller (an API token, or the address of an anonymous caller),
shared by every process that serves the API."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base


class RateLimitBucket(Base):
    __tablename__ = "rate_limit_buckets"
    # Unlogged: a bucket is worth no WAL, and a crash that empties them only forgives.
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    # "token:<api token id>" or "ip:<address>".
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    # Requests the caller may still make now; refills continuously up to the limit.
    tokens: Mapped[float] = mapped_column(sa.Double)
    # Whether the last request was let through (how the one statement reports it).
    allowed: Mapped[bool] = mapped_column(sa.Boolean)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

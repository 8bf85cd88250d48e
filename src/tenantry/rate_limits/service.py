"""Per-caller request rates: a token bucket per API token, or per address for anonymous
callers, kept in PostgreSQL so every process of the API draws from the same bucket.

A caller may make ``per_minute`` requests at once and then ``per_minute`` a minute (the
bucket refills continuously). 0 turns the limit off.
"""

import math

import asyncpg

from tenantry.auth.principal import Principal
from tenantry.rate_limits import repository as repo
from tenantry.settings import Settings


class RateLimited(Exception):
    def __init__(self, per_minute: int, retry_after_seconds: int) -> None:
        super().__init__(per_minute, retry_after_seconds)
        self.per_minute = per_minute
        self.retry_after_seconds = retry_after_seconds

    @property
    def message(self) -> str:
        return (
            f"Too many requests: at most {self.per_minute} a minute. "
            f"Retry after {self.retry_after_seconds} s."
        )


# A token's bucket is "token:<api token id>" (an impersonation's: its source token's).
TOKEN_BUCKET_PREFIX = "token:"


def bucket_of(
    settings: Settings, principal: Principal | None, address: str | None
) -> tuple[str, int] | None:
    """The bucket's key and its limit a minute; None when the caller is not limited."""
    if principal is not None:
        key = f"{TOKEN_BUCKET_PREFIX}{principal.token_id}"
        per_minute = settings.rate_limit_per_minute
    else:
        key, per_minute = f"ip:{address or '-'}", settings.rate_limit_anonymous_per_minute
    return (key, per_minute) if per_minute > 0 else None


async def take_request(connection: asyncpg.Connection, key: str, per_minute: int) -> None:
    """Counts one request; raises ``RateLimited`` when the caller has none left."""
    taken = await repo.take(connection, key, per_minute, per_minute / 60)
    check_taken(taken, per_minute)


def check_taken(taken: repo.Take, per_minute: int) -> None:
    """Raises ``RateLimited`` when the request found no token left in its bucket."""
    if not taken.allowed:
        wait = math.ceil((1 - taken.tokens) / (per_minute / 60))
        raise RateLimited(per_minute, max(1, wait))

"""The rate limiter's one statement, and the sweep of idle buckets."""

from dataclasses import dataclass

import asyncpg


def _refill(capacity: str, per_second: str) -> str:
    """The bucket ``b``'s tokens now: refilled by the time since its last request, capped."""
    elapsed = "EXTRACT(EPOCH FROM statement_timestamp() - b.updated_at)"
    return f"LEAST({capacity}, b.tokens + {per_second} * {elapsed})"


def take_sql(rows: str, capacity: str, per_second: str) -> str:
    """A token bucket in one upsert: refill by the time since the last request (capped at the
    limit), take one token when there is one. The row lock of ON CONFLICT serialises the
    requests of one caller, whichever process serves them. ``rows``: a VALUES or SELECT of
    (key, tokens, allowed, updated_at) for a new bucket; the others are SQL expressions."""
    refill = _refill(capacity, per_second)
    return f"""
INSERT INTO rate_limit_buckets AS b (key, tokens, allowed, updated_at)
{rows}
ON CONFLICT (key) DO UPDATE SET
    allowed = {refill} >= 1,
    tokens = CASE WHEN {refill} >= 1 THEN {refill} - 1 ELSE {refill} END,
    updated_at = statement_timestamp()
RETURNING allowed, tokens
"""


def has_token_sql(key: str, capacity: str, per_second: str) -> str:
    """Whether the bucket ``key`` has a token now, read without its lock (a caller over its
    limit is refused by ``take_sql``; this only spares work for one): true for no bucket."""
    refill = _refill(capacity, per_second)
    return f"COALESCE((SELECT {refill} >= 1 FROM rate_limit_buckets b WHERE b.key = {key}), true)"


_TAKE = take_sql("VALUES ($1, $2 - 1, true, statement_timestamp())", "$2", "$3")


@dataclass(frozen=True)
class Take:
    allowed: bool
    tokens: float


async def take(connection: asyncpg.Connection, key: str, capacity: int, per_second: float) -> Take:
    row = await connection.fetchrow(_TAKE, key, float(capacity), per_second)
    assert row is not None
    return Take(allowed=row["allowed"], tokens=row["tokens"])


async def delete_full_buckets(connection: asyncpg.Connection, idle_seconds: float) -> int:
    """Buckets untouched long enough to have refilled: dropping them changes nothing."""
    status = await connection.execute(
        "DELETE FROM rate_limit_buckets "
        "WHERE updated_at < statement_timestamp() - make_interval(secs => $1)",
        idle_seconds,
    )
    return int(status.split()[-1])

"""The rate limiter's one statement, and the sweep of idle buckets."""

from dataclasses import dataclass

import asyncpg

# A token bucket in one upsert: refill by the time since the last request (capped at the
# limit), take one token when there is one. The row lock of ON CONFLICT serialises the
# requests of one caller, whichever process serves them.
_REFILL = "LEAST($2, b.tokens + $3 * EXTRACT(EPOCH FROM statement_timestamp() - b.updated_at))"
_TAKE = f"""
INSERT INTO rate_limit_buckets AS b (key, tokens, allowed, updated_at)
VALUES ($1, $2 - 1, true, statement_timestamp())
ON CONFLICT (key) DO UPDATE SET
    allowed = {_REFILL} >= 1,
    tokens = CASE WHEN {_REFILL} >= 1 THEN {_REFILL} - 1 ELSE {_REFILL} END,
    updated_at = statement_timestamp()
RETURNING allowed, tokens
"""


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

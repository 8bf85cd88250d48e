"""The fast path's one statement: the token, the rate limit and the compiled read together.

A request on the fast path needs three answers from PostgreSQL: whose token it is, a
token from the caller's rate-limit bucket, and the compiled read. One after the other they
are three round trips, and under load the round trips (a send, a wake-up of the backend, a
receive, for each) took about half of the server process's CPU (py-spy). This statement
gives all three in one:

    WITH fast_principal AS (the token lookup, as authentication runs it),
         fast_answer AS (the compiled read for the principal the token had last time, run
                         only if the token still belongs to that tenant and its bucket has a
                         token left: a caller over its limit costs no read),
         fast_taken AS (the bucket's upsert, which reads fast_answer first: the row lock it
                        takes is held until the statement ends, and the read of one token's
                        concurrent requests must not queue behind it)
    SELECT fast_principal.*, fast_taken.allowed, fast_taken.tokens, fast_answer.data

The read is used only when the principal found is exactly the one it was run for; the
caller runs it again otherwise. With no principal to try (a token seen for the first time)
there is no read, and without a rate limit no upsert. The pieces' SQL is their owners':
the lookup from ``auth.repository``, the bucket from ``rate_limits.repository``, the read
from the compiler; only placeholders are numbered here.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import asyncpg

from tenantry.auth.principal import Principal
from tenantry.auth.repository import principal_sql
from tenantry.auth.service import principal_of
from tenantry.rate_limits.repository import Take, has_token_sql, take_sql
from tenantry.rate_limits.service import TOKEN_BUCKET_PREFIX


@dataclass(frozen=True)
class Read:
    """A compiled read (``$1``..``$n``), its arguments, and the tenant it was bound for."""

    sql: str
    arguments: list[Any]
    tenant_id: int


@dataclass(frozen=True)
class Found:
    principal: Principal | None
    taken: Take | None  # None: no rate limit, or no principal
    data: str | None  # the read's JSON text, when there was one to run and it ran


def _shifted(sql: str, by: int) -> str:
    """The lookup's placeholders after the read's (its text has no other ``$``)."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + by}", sql)


@lru_cache(maxsize=1024)
def _statement(
    read_sql: str | None, read_arguments: int, impersonating: bool, limited: bool
) -> str:
    """Placeholders: the read's, the lookup's (digest, now), then the read's tenant (with a
    read) and the bucket's capacity and refill a second (with a limit)."""
    lookup, names = principal_sql(impersonating)
    assert names == ("digest", "now") and lookup.count("$") == len(re.findall(r"\$\d", lookup))
    n = read_arguments + 2
    tenant = ""
    if read_sql is not None:
        n += 1
        tenant = f"${n}::bigint"
    capacity, per_second = f"${n + 1}::float8", f"${n + 2}::float8"
    key = f"'{TOKEN_BUCKET_PREFIX}' || p.token_id"
    ctes = [f"fast_principal AS MATERIALIZED ({_shifted(lookup, read_arguments)})"]
    sources = "fast_principal p"
    data = "NULL::text"
    if read_sql is not None:
        ready = f"p.tenant_id = {tenant}"
        if limited:
            ready += f" AND {has_token_sql(key, capacity, per_second)}"
        ctes.append(
            "fast_answer AS MATERIALIZED ("
            f"SELECT CASE WHEN {ready} THEN ({read_sql}) END AS data FROM fast_principal p)"
        )
        sources += ", fast_answer a"
        data = "a.data"
    taken = "NULL::boolean AS allowed, NULL::float8 AS tokens"
    joined = ""
    if limited:
        rows = f"SELECT {key}, {capacity} - 1, true, statement_timestamp() FROM {sources}"
        ctes.append(f"fast_taken AS ({take_sql(rows, capacity, per_second)})")
        taken = "t.allowed, t.tokens"
        joined = " LEFT JOIN fast_taken t ON true"
    tables = sources.replace(", ", " CROSS JOIN ")
    return f"WITH {', '.join(ctes)} SELECT p.*, {taken}, {data} AS data FROM {tables}{joined}"


async def authenticate_and_read(
    connection: asyncpg.Connection,
    digest: str,
    now: datetime,
    *,
    impersonating: bool,
    read: Read | None,
    per_minute: int,
) -> Found:
    """One round trip: the principal of ``digest`` at ``now``, a token taken from its bucket
    (``per_minute`` > 0), and ``read``'s answer if it still applies."""
    limited = per_minute > 0
    statement = _statement(
        None if read is None else read.sql,
        0 if read is None else len(read.arguments),
        impersonating,
        limited,
    )
    arguments: list[Any] = [*(read.arguments if read else ()), digest, now]
    if read is not None:
        arguments.append(read.tenant_id)
    if limited:
        arguments += [float(per_minute), per_minute / 60]
    row = await connection.fetchrow(statement, *arguments)
    if row is None:
        return Found(None, None, None)
    taken = None if row["allowed"] is None else Take(row["allowed"], row["tokens"])
    return Found(principal_of(dict(row.items())), taken, row["data"])

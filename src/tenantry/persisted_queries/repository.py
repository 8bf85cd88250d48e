"""Every statement on stored documents."""

import asyncpg


async def find(connection: asyncpg.Connection, sha256: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT document, allow_listed FROM persisted_queries WHERE sha256 = $1", sha256
    )


async def store(connection: asyncpg.Connection, sha256: str, document: str) -> None:
    """A client's document (APQ): stored once, whoever sends it again."""
    await connection.execute(
        "INSERT INTO persisted_queries (sha256, document) VALUES ($1, $2) "
        "ON CONFLICT (sha256) DO NOTHING",
        sha256,
        document,
    )


async def allow_list(connection: asyncpg.Connection, sha256: str, document: str) -> None:
    """An operator's document: runs in allow-list mode from now on."""
    await connection.execute(
        "INSERT INTO persisted_queries AS p (sha256, document, allow_listed, registered_at) "
        "VALUES ($1, $2, true, now()) "
        "ON CONFLICT (sha256) DO UPDATE SET allow_listed = true, "
        "registered_at = coalesce(p.registered_at, now())",
        sha256,
        document,
    )


async def remove_from_allow_list(connection: asyncpg.Connection, sha256: str) -> bool:
    status = await connection.execute(
        "UPDATE persisted_queries SET allow_listed = false, registered_at = NULL "
        "WHERE sha256 = $1 AND allow_listed",
        sha256,
    )
    return status != "UPDATE 0"

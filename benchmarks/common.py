"""Shared set-up for benchmarks: a fresh, migrated database on DATABASE_URL or embedded."""

import os
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from tenantry.db.migrate import upgrade_to_head_async


def _server() -> URL:
    server = os.environ.get("DATABASE_URL")
    if not server:
        from tenantry.db.embedded import embedded_database_url

        server = embedded_database_url(Path(tempfile.mkdtemp(prefix="tenantry-bench-")))
    return make_url(server).set(drivername="postgresql")


async def _admin(*statements: str) -> list[asyncpg.Record]:
    """Run statements on the server's own database; the rows of the last one."""
    admin = await asyncpg.connect(_server().render_as_string(hide_password=False))
    try:
        for statement in statements[:-1]:
            await admin.execute(statement)
        return list(await admin.fetch(statements[-1]))
    finally:
        await admin.close()


def database_url(name: str) -> str:
    return _server().set(database=name).render_as_string(hide_password=False)


async def fresh_database(name: str, template: str | None = None) -> str:
    """A new database ``name`` (a copy of ``template`` if given), migrated to head."""
    copy = f' TEMPLATE "{template}"' if template else ""
    await _admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{copy}'
    )
    url = database_url(name)
    await upgrade_to_head_async(url)
    return url


async def database_exists(name: str) -> bool:
    return bool(await _admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


async def rename_database(old: str, new: str) -> None:
    await _admin(
        f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)', f'ALTER DATABASE "{old}" RENAME TO "{new}"'
    )

"""Shared set-up for benchmarks: a fresh, migrated database on DATABASE_URL or embedded."""

import os
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from tenantry.db.migrate import upgrade_to_head_async


async def fresh_database(name: str) -> str:
    server = os.environ.get("DATABASE_URL")
    if not server:
        from tenantry.db.embedded import embedded_database_url

        server = embedded_database_url(Path(tempfile.mkdtemp(prefix="tenantry-bench-")))
    plain = make_url(server).set(drivername="postgresql")
    admin = await asyncpg.connect(plain.render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = plain.set(database=name).render_as_string(hide_password=False)
    await upgrade_to_head_async(url)
    return url

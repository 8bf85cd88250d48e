"""Bring a database's schema to Alembic head, from code (CLI, server start, tests)."""

import asyncio
import re
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(Path(__file__).parent / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


# usage_records_partition() in migration 0013 names them so.
USAGE_PARTITION = re.compile(r"usage_records_y\d{4}m\d{2}")


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """The job queue's tables are procrastinate's, migrated by its own SQL, and usage_records'
    monthly partitions are made at run time: neither is ours to diff (``include_name`` for
    Alembic's autogenerate)."""
    if type_ != "table" or name is None:
        return True
    return not (name.startswith("procrastinate_") or USAGE_PARTITION.fullmatch(name))


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    # Alembic's async env runs its own event loop, so keep it off the caller's loop.
    await asyncio.to_thread(upgrade_to_head, database_url)

"""Bring a database's schema to Alembic head, from code (CLI, server start, tests)."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(Path(__file__).parent / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """The job queue's tables are procrastinate's, migrated by its own SQL: not ours to diff
    (``include_name`` for Alembic's autogenerate)."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    # Alembic's async env runs its own event loop, so keep it off the caller's loop.
    await asyncio.to_thread(upgrade_to_head, database_url)

"""Migration 0011 on a database that has data: entity codes, invoice numbers, counters, and
partners left without an entity."""

import asyncio
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from tenantry.db.migrate import alembic_config
from tests.fixtures.database import TEST_DATABASE

REVISION = "0011"


@pytest.fixture
async def database(server_url: str) -> AsyncIterator[str]:
    """A database of its own, migrated to just before 0011."""
    name = f"{TEST_DATABASE}_{os.getpid()}_m{REVISION}"
    plain = make_url(server_url).set(drivername="postgresql")
    admin = await asyncpg.connect(plain.render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = plain.set(database=name).render_as_string(hide_password=False)
        config = alembic_config(url)
        revision = ScriptDirectory.from_config(config).get_revision(REVISION)
        assert revision is not None and isinstance(revision.down_revision, str)
        await asyncio.to_thread(command.upgrade, config, revision.down_revision)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


TENANT = """INSERT INTO tenants (id, parent_id, kind, name, moniker, path, scope_path,
  subscription_types, inherit_sponsor_operators, currency, is_partner, billing_entity_id,
  partner_access, status) OVERRIDING SYSTEM VALUE
  VALUES ($1, $2, $3, $4, $4, $5, $5, '{INTEGRATED}', false, 'EUR', $6, $7, false, 'ACTIVE')"""
INVOICE = """INSERT INTO invoices (tenant_id, billing_entity_id, period_start, period_end,
  currency, total, created_at) VALUES ($1, $2, $3::text::timestamptz, $4::text::timestamptz, 'EUR', 1, $5::text::timestamptz)"""


async def test_existing_entities_invoices_and_partners_are_migrated(database: str) -> None:
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(TENANT, 1, None, "ROOT", "root", [1], False, None)
        entity = await connection.fetchval(
            "INSERT INTO billing_entities (tenant_id, name, country) "
            "VALUES (1, 'Phystack Ltd', 'GB') RETURNING id"
        )
        await connection.execute(TENANT, 2, 1, "SUB_TENANT", "billed", [1, 2], True, entity)
        await connection.execute(TENANT, 3, 1, "SUB_TENANT", "unbilled", [1, 3], True, None)
        await connection.execute(TENANT, 4, 3, "MANAGED", "managed", [1, 3, 4], False, None)
        # Issued out of id order, across a new year (in UTC; 00:30+01:00 is still 2025).
        for start, end, issued in (
            ("2026-01-01", "2026-02-01", "2026-02-01T01:00:00Z"),
            ("2025-12-01", "2026-01-01", "2026-01-01T00:30:00+01:00"),
            ("2025-11-01", "2025-12-01", "2025-12-01T01:00:00Z"),
            ("2026-02-01", "2026-03-01", "2026-03-01T01:00:00Z"),
        ):
            await connection.execute(INVOICE, 2, entity, start, end, issued)
    finally:
        await connection.close()

    await asyncio.to_thread(command.upgrade, alembic_config(database), REVISION)

    connection = await asyncpg.connect(database)
    try:
        assert await connection.fetchval("SELECT code FROM billing_entities") == "PHY"
        numbers = await connection.fetch(
            "SELECT to_char(period_start, 'YYYY-MM') AS month, number FROM invoices ORDER BY 1"
        )
        assert [tuple(row) for row in numbers] == [
            ("2025-11", "PHY-2025-000001"),
            ("2025-12", "PHY-2025-000002"),
            ("2026-01", "PHY-2026-000001"),
            ("2026-02", "PHY-2026-000002"),
        ]
        counters = await connection.fetch(
            "SELECT year, last_number FROM invoice_number_counters ORDER BY year"
        )
        assert [tuple(row) for row in counters] == [(2025, 2), (2026, 2)]
        # The platform's only entity now issues the invoices of the partner that had none,
        # and its managed tenant's copy follows.
        entities = await connection.fetch("SELECT id, billing_entity_id FROM tenants ORDER BY id")
        assert [tuple(row) for row in entities] == [
            (1, None),
            (2, entity),
            (3, entity),
            (4, entity),
        ]
    finally:
        await connection.close()

"""Migrations on a database of their own: all the way down and up again, and those that
change data, run on a database that has data.

0012 (voice by the second): VOICE quantities and increments go from minutes to seconds,
rates get a minimum of 0, rated charges stay; the downgrade brings minutes back.
0013 (usage partitions): usage_records becomes partitioned by month with its rows, and
idempotency by event id holds across the upgrade and the downgrade.
0014 (usage rollups): the rollups are backfilled from the usage already recorded.
0015 (tariff versions): each tariff's rates and fee become its first version.
"""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.engine import create_engine
from tenantry.db.migrate import alembic_config, ours
from tenantry.db.models import metadata
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import UsageKind

VOICE = "0012"

# A tenant that owns a tariff (DATA and VOICE rates), one customer and endpoint, and usage of
# both kinds rated before the upgrade (VOICE in minutes: 2.5 min and 0.1 min).
DATA_AT_PREVIOUS_REVISION = """
INSERT INTO tenants (id, kind, name, moniker, path, scope_path, subscription_types,
                     inherit_sponsor_operators, currency, is_partner, partner_access, status)
OVERRIDING SYSTEM VALUE
VALUES (1, 'ROOT', 'Platform', 'platform', '{1}', '{1}', '{INTEGRATED}', false, 'EUR', false,
        false, 'ACTIVE');
INSERT INTO accounts (id, tenant_id, owner_kind, currency, credit_limit, balance)
OVERRIDING SYSTEM VALUE VALUES (1, 1, 'CUSTOMER', 'EUR', 0, 0);
INSERT INTO tariffs (id, tenant_id, name, currency) OVERRIDING SYSTEM VALUE
VALUES (1, 1, 'Standard', 'EUR');
INSERT INTO tariff_rates (tariff_id, kind, tenant_id, unit_price, increment)
VALUES (1, 'VOICE', 1, 0.05, 0.5), (1, 'DATA', 1, 0.01, 1);
INSERT INTO customers (id, tenant_id, name, subscription_type, account_id, tariff_id)
OVERRIDING SYSTEM VALUE VALUES (1, 1, 'Customer', 'INTEGRATED', 1, 1);
INSERT INTO sponsor_operators (id, tenant_id, name) OVERRIDING SYSTEM VALUE VALUES (1, 1, 'Op');
INSERT INTO endpoints (id, tenant_id, customer_id, name, iccid, sponsor_operator_id)
OVERRIDING SYSTEM VALUE VALUES (1, 1, 1, 'SIM', '8944000000000000001', 1);
INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges,
                           occurred_at, event_id)
VALUES (1, 1, 1, 'VOICE', 2.5, 0, '{0.125}', '2026-11-15T12:00:00Z', 'call'),
       (1, 1, 1, 'VOICE', 0.1, 0, '{0.025}', '2026-11-15T12:01:00Z', 'short-call'),
       (1, 1, 1, 'DATA', 10.5, 0, '{0.11}', '2026-11-15T12:02:00Z', 'data');
"""


async def migrate(url: str, direction: str, revision: str) -> None:
    # Alembic's async env runs its own event loop, so keep it off this one.
    action = command.upgrade if direction == "up" else command.downgrade
    await asyncio.to_thread(action, alembic_config(url), revision)


async def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


RATES = "SELECT kind, increment, unit_price FROM tariff_rates ORDER BY kind"
USAGE = "SELECT event_id, kind, quantity, charges FROM usage_records ORDER BY event_id"


async def test_voice_minutes_become_seconds_and_come_back(empty_database: str) -> None:
    url = empty_database
    previous = ScriptDirectory.from_config(alembic_config(url)).get_revision(VOICE).down_revision
    assert isinstance(previous, str)
    await migrate(url, "up", previous)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(DATA_AT_PREVIOUS_REVISION)
    finally:
        await connection.close()

    await migrate(url, "up", VOICE)
    # Increments in seconds (0.5 min = 30 s), prices still per minute, minimum 0 everywhere.
    assert await rows(
        url, "SELECT kind, increment, unit_price, minimum FROM tariff_rates ORDER BY kind"
    ) == [
        ("DATA", Decimal("1"), Decimal("0.01"), Decimal("0")),
        ("VOICE", Decimal("30"), Decimal("0.05"), Decimal("0")),
    ]
    # 2.5 min = 150 s, 0.1 min = 6 s; DATA and every charge as they were.
    assert await rows(url, USAGE) == [
        ("call", "VOICE", Decimal("150"), [Decimal("0.125")]),
        ("data", "DATA", Decimal("10.5"), [Decimal("0.11")]),
        ("short-call", "VOICE", Decimal("6"), [Decimal("0.025")]),
    ]
    # The new column refuses a negative minimum.
    connection = await asyncpg.connect(url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute("UPDATE tariff_rates SET minimum = -1")
    finally:
        await connection.close()

    await migrate(url, "down", previous)
    assert await rows(url, RATES) == [
        ("DATA", Decimal("1"), Decimal("0.01")),
        ("VOICE", Decimal("0.5"), Decimal("0.05")),
    ]
    assert await rows(url, USAGE) == [
        ("call", "VOICE", Decimal("2.5"), [Decimal("0.125")]),
        ("data", "DATA", Decimal("10.5"), [Decimal("0.11")]),
        ("short-call", "VOICE", Decimal("0.1"), [Decimal("0.025")]),
    ]


VERSIONS = "0015"


async def test_tariffs_get_a_first_version_holding_their_rates_and_fee(
    empty_database: str,
) -> None:
    url = empty_database
    previous = ScriptDirectory.from_config(alembic_config(url)).get_revision(VERSIONS).down_revision
    assert isinstance(previous, str)
    await migrate(url, "up", previous)
    connection = await asyncpg.connect(url)
    try:
        # Usage records are partitioned by month (0013): November's partition first.
        await connection.execute("SELECT usage_records_partition('2026-11-15T00:00:00Z')")
        await connection.execute(DATA_AT_PREVIOUS_REVISION)
        await connection.execute(
            "INSERT INTO tariffs (id, tenant_id, name, currency, monthly_fee_per_endpoint, "
            "created_at) OVERRIDING SYSTEM VALUE "
            "VALUES (2, 1, 'Fees', 'EUR', 3.5, '2026-10-01T00:00:00Z')"
        )
    finally:
        await connection.close()

    await migrate(url, "up", VERSIONS)
    # One version per tariff, from its creation, with its fee; the rates are that version's.
    assert await rows(
        url,
        "SELECT v.tariff_id, v.effective_from = t.created_at, v.monthly_fee_per_endpoint, "
        "v.actor_user_id FROM tariff_versions v JOIN tariffs t ON t.id = v.tariff_id "
        "ORDER BY v.tariff_id",
    ) == [(1, True, None, None), (2, True, Decimal("3.5"), None)]
    assert await rows(
        url,
        "SELECT r.kind, r.unit_price, v.tariff_id FROM tariff_rates r "
        "JOIN tariff_versions v ON v.id = r.version_id ORDER BY r.kind",
    ) == [("DATA", Decimal("0.01"), 1), ("VOICE", Decimal("0.05"), 1)]
    # Usage from before the tariff existed is rated by its first version (it covers all
    # time before it), through the same lookup the rating uses.
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            session = AsyncSession(bind=connection)
            before = datetime(2020, 1, 1, tzinfo=UTC)
            found = await tariffs_repo.rates_in_force(session, [(1, before)])
            assert {kind: rate.unit_price for kind, rate in found[(1, before)].items()} == {
                UsageKind.DATA: Decimal("0.01"),
                UsageKind.VOICE: Decimal("0.05"),
            }
            await session.close()
    finally:
        await engine.dispose()

    await migrate(url, "down", previous)
    assert await rows(url, "SELECT id, monthly_fee_per_endpoint FROM tariffs ORDER BY id") == [
        (1, None),
        (2, Decimal("3.5")),
    ]
    assert await rows(url, RATES) == [
        ("DATA", Decimal("1"), Decimal("0.01")),
        ("VOICE", Decimal("0.5"), Decimal("0.05")),  # inserted at 0012: in seconds already
    ]


# Every relation, routine and free-standing type in the schema (a table's own row type aside).
CATALOG = """
SELECT 'relation', c.relname FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace
UNION ALL
SELECT 'routine', p.oid::regprocedure::text FROM pg_proc p
WHERE p.pronamespace = current_schema()::regnamespace
UNION ALL
SELECT 'type', t.typname FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typnamespace = current_schema()::regnamespace AND t.typcategory <> 'A'
  AND (t.typrelid = 0 OR c.relkind = 'c')
ORDER BY 1, 2
"""


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": ours}
    )
    return list(compare_metadata(context, metadata))


async def test_down_to_base_and_up_again(empty_database: str) -> None:
    url = empty_database
    await migrate(url, "up", "head")
    at_head = await rows(url, CATALOG)
    # The job queue's tables, routines and types are there (procrastinate's schema).
    assert ("type", "procrastinate_job_status") in at_head
    assert ("relation", "procrastinate_jobs") in at_head

    await migrate(url, "down", "base")
    # Nothing left but Alembic's own bookkeeping: no table, routine or type of ours or the
    # job queue's (a type left behind made the next upgrade fail).
    assert await rows(url, CATALOG) == [
        ("relation", "alembic_version"),
        ("relation", "alembic_version_pkc"),
    ]

    await migrate(url, "up", "head")
    assert await rows(url, CATALOG) == at_head
    # And the schema is the models' schema: autogenerate finds nothing to do.
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


PARTITIONS = "0013"
USAGE_ROWS = (
    "SELECT id, event_id, kind, quantity, charges, occurred_at FROM usage_records ORDER BY id"
)


async def _insert_usage(url: str, *records: tuple[str, datetime]) -> dict[str, int]:
    """The application's own idempotent insert (partitions made on demand first)."""
    from tenantry.db.engine import Database
    from tenantry.tariffs.models import UsageKind
    from tenantry.usage import repository as usage_repo

    rows = [
        usage_repo.RatedRecord(
            tenant_id=1,
            customer_id=1,
            endpoint_id=1,
            kind=UsageKind.DATA,
            quantity=Decimal(1),
            depth=0,
            charges=[Decimal("0.01")],
            occurred_at=at,
            event_id=event_id,
        )
        for event_id, at in records
    ]
    db = Database.connect(url, pool_size=1)
    try:
        async with db.write() as session:
            await usage_repo.ensure_partitions(session, [at for _, at in records])
            return await usage_repo.insert_records(session, rows)
    finally:
        await db.dispose()


async def test_usage_becomes_partitioned_with_its_data_and_comes_back(
    empty_database: str,
) -> None:
    url = empty_database
    await migrate(url, "up", "0012")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(DATA_AT_PREVIOUS_REVISION)
        await connection.execute(
            "INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, "
            "depth, charges, occurred_at, event_id) "
            "VALUES (1, 1, 1, 'SMS', 2, 0, '{0.0008}', '2026-10-31T23:59:59Z', 'october')"
        )
    finally:
        await connection.close()
    before = await rows(url, USAGE_ROWS)
    assert len(before) == 4

    await migrate(url, "up", PARTITIONS)
    # Every row is there, ids and all, each in its month's partition.
    assert await rows(url, USAGE_ROWS) == before
    assert await rows(
        url, "SELECT tableoid::regclass::text, count(*) FROM usage_records GROUP BY 1 ORDER BY 1"
    ) == [("usage_records_y2026m10", 1), ("usage_records_y2026m11", 3)]
    # Still idempotent: events recorded before the upgrade are duplicates, in any month;
    # a new event is recorded, with an id after the old ones.
    new = await _insert_usage(
        url,
        ("call", datetime(2026, 12, 2, tzinfo=UTC)),
        ("october", datetime(2026, 10, 1, tzinfo=UTC)),
        ("new", datetime(2026, 12, 2, tzinfo=UTC)),
    )
    assert list(new) == ["new"]
    assert new["new"] > max(row[0] for row in before)  # type: ignore[type-var]
    assert await _insert_usage(url, ("new", datetime(2026, 11, 2, tzinfo=UTC))) == {}

    await migrate(url, "down", "0012")
    after = await rows(url, USAGE_ROWS)
    assert after[:4] == before
    assert [row[1] for row in after[4:]] == ["new"]
    # One plain table again, with its unique event id.
    assert await rows(
        url, "SELECT relkind::text FROM pg_class WHERE relname = 'usage_records'"
    ) == [("r",)]
    connection = await asyncpg.connect(url)
    try:
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(
                "INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, "
                "depth, charges, occurred_at, event_id) "
                "VALUES (1, 1, 1, 'SMS', 2, 0, '{0.0008}', '2026-10-31T23:59:59Z', 'october')"
            )
    finally:
        await connection.close()
    await migrate(url, "up", "head")
    assert len(await rows(url, USAGE_ROWS)) == 5


ROLLUPS = "0014"

# platform (1) -> a (2) -> a1 (3); a customer and endpoint at a1 and at the platform. Usage
# rated before the rollups existed: at a1 (depth 2, charges per level: customer -> a1 ->
# a -> platform) on both sides of a UTC midnight, and at the platform (depth 0).
TREE_WITH_USAGE = """
INSERT INTO tenants (id, parent_id, kind, name, moniker, path, scope_path, subscription_types,
                     inherit_sponsor_operators, currency, is_partner, partner_access, status)
OVERRIDING SYSTEM VALUE
VALUES (1, NULL, 'ROOT', 'Platform', 'platform', '{1}', '{1}', '{INTEGRATED}', false, 'EUR',
        false, false, 'ACTIVE'),
       (2, 1, 'SUB_TENANT', 'A', 'a', '{1,2}', '{1,2}', '{INTEGRATED}', true, 'EUR',
        false, false, 'ACTIVE'),
       (3, 2, 'SUB_TENANT', 'A1', 'a1', '{1,2,3}', '{1,2,3}', '{INTEGRATED}', true, 'EUR',
        false, false, 'ACTIVE');
INSERT INTO accounts (id, tenant_id, owner_kind, currency, credit_limit, balance)
OVERRIDING SYSTEM VALUE VALUES (1, 3, 'CUSTOMER', 'EUR', 0, 0), (2, 1, 'CUSTOMER', 'EUR', 0, 0);
INSERT INTO customers (id, tenant_id, name, subscription_type, account_id)
OVERRIDING SYSTEM VALUE VALUES (1, 3, 'C1', 'INTEGRATED', 1), (2, 1, 'C0', 'INTEGRATED', 2);
INSERT INTO sponsor_operators (id, tenant_id, name) OVERRIDING SYSTEM VALUE VALUES (1, 1, 'Op');
INSERT INTO endpoints (id, tenant_id, customer_id, name, iccid, sponsor_operator_id)
OVERRIDING SYSTEM VALUE VALUES (1, 3, 1, 'SIM', '8944000000000000001', 1),
                               (2, 1, 2, 'SIM', '8944000000000000002', 1);
INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges,
                           occurred_at, event_id)
VALUES (3, 1, 1, 'DATA', 10, 2, '{0.5,0.2,0.1}', '2026-11-15T23:59:59.999999Z', 'late-15th'),
       (3, 1, 1, 'DATA', 4, 2, '{0.2,0.08,0.04}', '2026-11-16T00:00:00Z', 'first-16th'),
       (3, 1, 1, 'SMS', 3, 2, '{0.03,0.003,0}', '2026-11-16T10:00:00+05:00', 'sms'),
       (1, 2, 2, 'DATA', 1, 0, '{0.7}', '2026-11-16T12:00:00Z', 'platform-own');
"""


async def test_rollups_are_backfilled_from_existing_usage(empty_database: str) -> None:
    url = empty_database
    previous = ScriptDirectory.from_config(alembic_config(url)).get_revision(ROLLUPS).down_revision
    assert isinstance(previous, str)
    await migrate(url, "up", previous)
    connection = await asyncpg.connect(url)
    try:
        # Usage records are partitioned by month (0013): November's partition first.
        await connection.execute("SELECT usage_records_partition('2026-11-15T00:00:00Z')")
        await connection.execute(TREE_WITH_USAGE)
    finally:
        await connection.close()

    await migrate(url, "up", ROLLUPS)
    d = Decimal
    # (tenant, UTC day, kind): own records, quantity, cost, revenue; then the sub-tree's.
    assert await rows(
        url,
        "SELECT tenant_id, day::text, kind, own_records, own_quantity, own_cost, own_revenue, "
        "tree_records, tree_quantity, tree_cost, tree_revenue FROM usage_rollups "
        "ORDER BY 1, 2, 3",
    ) == [
        (1, "2026-11-15", "DATA", 0, 0, 0, 0, 1, d(10), 0, d("0.1")),
        (1, "2026-11-16", "DATA", 1, d(1), 0, d("0.7"), 2, d(5), 0, d("0.74")),
        # 10:00 at +05:00 is 05:00 UTC: the 16th.
        (1, "2026-11-16", "SMS", 0, 0, 0, 0, 1, d(3), 0, d(0)),
        (2, "2026-11-15", "DATA", 0, 0, 0, 0, 1, d(10), d("0.1"), d("0.2")),
        (2, "2026-11-16", "DATA", 0, 0, 0, 0, 1, d(4), d("0.04"), d("0.08")),
        (2, "2026-11-16", "SMS", 0, 0, 0, 0, 1, d(3), d(0), d("0.003")),
        (3, "2026-11-15", "DATA", 1, d(10), d("0.2"), d("0.5"), 1, d(10), d("0.2"), d("0.5")),
        (3, "2026-11-16", "DATA", 1, d(4), d("0.08"), d("0.2"), 1, d(4), d("0.08"), d("0.2")),
        (3, "2026-11-16", "SMS", 1, d(3), d("0.003"), d("0.03"), 1, d(3), d("0.003"), d("0.03")),
    ]

    await migrate(url, "down", previous)
    assert ("relation", "usage_rollups") not in await rows(url, CATALOG)
    # The records are untouched either way.
    assert len(await rows(url, USAGE)) == 4

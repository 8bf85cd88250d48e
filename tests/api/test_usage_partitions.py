"""Set-based ingestion and usage_records' monthly partitions.

Same tree as test_usage.py: customer pays a1 0.05/MB, a1 pays a 0.02/MB, a pays the root
0.01/MB.
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

import procrastinate
import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from tenantry import cli
from tenantry.db.engine import Database
from tenantry.jobs import run_worker
from tenantry.ledger.service import check_invariants
from tenantry.settings import get_settings
from tenantry.usage import partitions
from tenantry.usage import repository as repo
from tests.api.test_usage import balances
from tests.fixtures.database import StatementCounter
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    RECORD,
    Priced,
    create_customer,
    create_endpoint,
    record,
)
from tests.fixtures.world import World


async def _partition_names(db: Database) -> list[str]:
    async with db.read() as session:
        return [p.name for p in await repo.attached_partitions(session)]


async def _drop_partition(db: Database, name: str) -> None:
    async with db.write() as session:
        for partition in await repo.attached_partitions(session):
            if partition.name == name:
                await repo.detach_partition(session, partition, drop=True)


async def _ingest(
    gql: GraphQLClient, world: World, records: list[dict[str, str]]
) -> dict[str, Any]:
    data = await gql.data(RECORD, {"r": records}, token=world.root_admin.token)
    payload: dict[str, Any] = data["recordUsage"]
    return payload


def _command(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str) -> Result:
    """``tenantry detach-usage-partitions ...`` on the tests' database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.app, ["detach-usage-partitions", *args])
    finally:
        get_settings.cache_clear()


async def _endpoints_of_new_customers(
    gql: GraphQLClient, world: World, priced: Priced, count: int
) -> list[str]:
    """``count`` endpoints, each of its own customer (so each with its own account)."""
    root = world.root_admin.token
    operator = (
        await gql.data(
            "query($e: ID!) { node(id: $e) { ... on Endpoint { sponsorOperator { id } } } }",
            {"e": priced.endpoint_id},
            token=root,
        )
    )["node"]["sponsorOperator"]["id"]
    tariff = (
        await gql.data(
            "query($c: ID!) { node(id: $c) { ... on Customer { tariff { id } } } }",
            {"c": priced.customer_id},
            token=root,
        )
    )["node"]["tariff"]["id"]
    endpoints = []
    for _ in range(count):
        customer = (await create_customer(gql, root, world.a1.id, tariffId=tariff))["customer"]
        endpoints.append(
            (await create_endpoint(gql, root, customer["id"], operator))["endpoint"]["id"]
        )
    return endpoints


async def test_a_batch_takes_as_many_statements_for_many_accounts_as_for_one(
    gql: GraphQLClient, db: Database, world: World, priced: Priced, statements: StatementCounter
) -> None:
    endpoints = await _endpoints_of_new_customers(gql, world, priced, 6)
    await _ingest(gql, world, [record(priced.endpoint_id, "warm-up", "1")])
    counts = []
    for name, batch in (
        ("one", [record(priced.endpoint_id, f"one-{i}", "1") for i in range(6)]),
        ("six", [record(e, f"six-{i}", "1") for i, e in enumerate(endpoints)]),
    ):
        statements.statements.clear()
        assert await _ingest(gql, world, batch) == {
            "accepted": 6,
            "duplicates": 0,
            "userErrors": [],
        }, name
        counts.append(statements.count)
    # Four accounts (customer, a1, a, root) against nine (six customers, a1, a, root).
    assert counts[0] == counts[1], statements.statements
    # Each of the six customers paid 0.05, every level above earned its share of 6 MB.
    account_balances = await balances(gql, world, priced)
    assert account_balances == {
        "platform": "0.13",
        "a": "0.13",
        "a1": "0.39",
        "customer": "-0.35",
    }
    async with db.read() as session:
        assert await check_invariants(session) == []


async def test_an_event_id_is_recorded_once_across_months(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    november = record(priced.endpoint_id, "e1", "10", at="2026-11-15T12:00:00+00:00")
    october = record(priced.endpoint_id, "e1", "10", at="2026-10-15T12:00:00+00:00")
    assert await _ingest(gql, world, [november]) == {
        "accepted": 1,
        "duplicates": 0,
        "userErrors": [],
    }
    # The same event again, dated in another month (another partition): a duplicate, alone
    # or in a batch where it comes with a new event of that month.
    assert (await _ingest(gql, world, [october]))["duplicates"] == 1
    fresh = record(priced.endpoint_id, "e2", "10", at="2026-10-15T12:00:00+00:00")
    assert await _ingest(gql, world, [october, fresh]) == {
        "accepted": 1,
        "duplicates": 1,
        "userErrors": [],
    }
    # 20 MB charged in all: the customer paid 20 x 0.05.
    assert (await balances(gql, world, priced))["customer"] == "-1.00"
    async with db.read() as session:
        rows = await session.execute(
            sa.text("SELECT tableoid::regclass::text, event_id FROM usage_records ORDER BY 2")
        )
        assert rows.all() == [("usage_records_y2026m11", "e1"), ("usage_records_y2026m10", "e2")]


async def test_a_month_without_partition_gets_one_once_under_concurrent_batches(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    await _drop_partition(db, "usage_records_y2025m03")
    assert "usage_records_y2025m03" not in await _partition_names(db)
    # Four batches at once, all bringing March 2025, sharing half their event ids.
    batches = [
        [
            record(priced.endpoint_id, f"m{i}", "1", at=f"2025-03-{1 + i % 28:02d}T00:00:00+00:00")
            for i in range(start, start + 20)
        ]
        for start in (0, 10, 20, 30)
    ]
    results = await asyncio.gather(*(_ingest(gql, world, batch) for batch in batches))
    assert [r["userErrors"] for r in results] == [[], [], [], []]
    assert sum(r["accepted"] for r in results) == 50
    assert "usage_records_y2025m03" in await _partition_names(db)
    assert (await balances(gql, world, priced))["customer"] == "-2.50"
    async with db.read() as session:
        assert await check_invariants(session) == []
        count = await session.scalar(sa.text("SELECT count(*) FROM usage_records_y2025m03"))
    assert count == 50


async def test_a_partition_has_the_tables_indexes(db: Database) -> None:
    async with db.write() as session:
        await repo.ensure_partitions(session, [datetime(2024, 2, 29, 23, 59, tzinfo=UTC)])
    async with db.read() as session:
        indexes = await session.scalars(
            sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'usage_records_y2024m02'")
        )
        definitions = sorted(d.split(" USING ")[1] for d in indexes.all())
    assert definitions == [
        "brin (occurred_at) WITH (pages_per_range='32')",
        "btree (customer_id, occurred_at)",
        "btree (endpoint_id, occurred_at)",
        "btree (id, occurred_at)",
        "btree (tenant_id, occurred_at)",
    ]


async def test_the_periodic_job_creates_partitions_ahead(db: Database) -> None:
    for name in ("usage_records_y2031m01", "usage_records_y2031m02", "usage_records_y2031m03"):
        await _drop_partition(db, name)
    made = await partitions.create_ahead(db, datetime(2030, 12, 31, 23, 0, tzinfo=UTC))
    assert made == ["usage_records_y2030m12", "usage_records_y2031m01", "usage_records_y2031m02"]
    assert {"usage_records_y2031m01", "usage_records_y2031m02"} <= set(await _partition_names(db))
    assert "usage_records_y2031m03" not in await _partition_names(db)


async def test_the_daily_job_makes_the_coming_months_partitions(
    db: Database, jobs: procrastinate.App
) -> None:
    task = "usage:create_usage_partitions"
    (periodic,) = [p for key, p in jobs.periodic_registry.periodic_tasks.items() if key[0] == task]
    assert periodic.cron == "15 1 * * *"
    for name in ("usage_records_y2032m01", "usage_records_y2032m02", "usage_records_y2032m03"):
        await _drop_partition(db, name)
    fired = int(datetime(2031, 12, 20, 1, 15, tzinfo=UTC).timestamp())
    await jobs.configure_task(task).defer_async(timestamp=fired)
    await run_worker(jobs, db, wait=False)
    names = set(await _partition_names(db))
    assert {"usage_records_y2031m12", "usage_records_y2032m01", "usage_records_y2032m02"} <= names
    assert "usage_records_y2032m03" not in names


async def test_old_partitions_are_detached_and_dropped_by_a_command(
    gql: GraphQLClient,
    db: Database,
    world: World,
    priced: Priced,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (
        await _ingest(
            gql,
            world,
            [
                record(priced.endpoint_id, "jan", "1", at="2023-01-10T00:00:00+00:00"),
                record(priced.endpoint_id, "feb", "1", at="2023-02-10T00:00:00+00:00"),
                record(priced.endpoint_id, "mar", "1", at="2023-03-10T00:00:00+00:00"),
            ],
        )
    )["accepted"] == 3
    # In a thread: the command runs its own event loop.
    kept = await asyncio.to_thread(_command, monkeypatch, database_url, "--before", "2023-02")
    assert kept.exit_code == 0, kept.output
    assert "usage_records_y2023m01" in kept.output
    names = await _partition_names(db)
    assert "usage_records_y2023m01" not in names
    assert {"usage_records_y2023m02", "usage_records_y2023m03"} <= set(names)
    async with db.read() as session:
        # Detached, not dropped: the table is still there, out of every read.
        assert await session.scalar(sa.text("SELECT count(*) FROM usage_records_y2023m01")) == 1
        assert await session.scalar(sa.text("SELECT count(*) FROM usage_records")) == 2
    dropped = await asyncio.to_thread(
        _command, monkeypatch, database_url, "--before", "2023-03", "--drop"
    )
    assert dropped.exit_code == 0, dropped.output
    async with db.read() as session:
        assert await session.scalar(sa.text("SELECT to_regclass('usage_records_y2023m02')")) is None
    # Idempotency outlives the partition: the event is still a duplicate.
    again = record(priced.endpoint_id, "feb", "1", at="2023-02-10T00:00:00+00:00")
    assert (await _ingest(gql, world, [again]))["duplicates"] == 1


@pytest.mark.parametrize("month", ["2023", "2023-13", "23-01", "2023-01-05"])
def test_the_command_refuses_a_month_it_cannot_read(month: str) -> None:
    result = CliRunner().invoke(cli.app, ["detach-usage-partitions", "--before", month])
    assert result.exit_code != 0
    assert "YYYY-MM" in result.output

"""A revision and the rating of a batch, in concurrent transactions on the real database:
each waits for the other, so a record is rated by all of one version (at every level) and
no record is left rated by a version that is not in force when it occurred."""

import asyncio
import contextlib
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from tenantry.core.errors import DomainError
from tenantry.db.engine import Database
from tenantry.ledger.service import check_invariants
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.service import NewRate, Revision, revise_tariff
from tenantry.usage.models import UsageRecord
from tenantry.usage.rating import charge
from tenantry.usage.service import NewUsageRecord, record_usage
from tests.fixtures.factories import platform_principal
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import Priced
from tests.fixtures.world import World
from tests.ids import pk_of
from tests.tariffs.conftest import Tariffs, later, now

# How long a blocked transaction is given to show it is blocked.
SETTLE = 0.5


def revision(tariff: str, at: datetime, price: str) -> Revision:
    return Revision(pk_of(tariff), [NewRate(UsageKind.DATA, Decimal(price))], at)


def usage(priced: Priced, event: str, at: datetime) -> list[NewUsageRecord]:
    return [NewUsageRecord(event, pk_of(priced.endpoint_id), UsageKind.DATA, Decimal(10), at)]


async def charges(db: Database) -> dict[str, list[Decimal]]:
    async with db.read() as session:
        rows = await session.execute(sa.select(UsageRecord.event_id, UsageRecord.charges))
        return {event: list(amounts) for event, amounts in rows.all()}


async def test_a_batch_waits_for_a_revision_being_written_and_rates_by_it(
    db: Database, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    principal = platform_principal(world.root, world.root_admin)
    effective = later(1)
    revised = asyncio.Event()
    release = asyncio.Event()

    async def revise() -> None:
        async with db.write() as session:
            await revise_tariff(session, principal, revision(tariffs.customer, effective, "0.07"))
            revised.set()
            await release.wait()

    async def ingest() -> None:
        async with db.write() as session:
            await record_usage(
                session, principal, usage(priced, "after", effective + timedelta(minutes=5))
            )

    reviser = asyncio.create_task(revise())
    await revised.wait()
    batch = asyncio.create_task(ingest())
    await asyncio.sleep(SETTLE)
    waited = not batch.done()
    release.set()
    await asyncio.gather(reviser, batch)
    assert waited, "the batch must wait for the revision being written"
    # 10 MB by the new customer price (0.07), a1's tenant tariff unchanged (0.02).
    assert await charges(db) == {"after": [Decimal("0.70"), Decimal("0.20"), Decimal("0.10")]}


async def test_a_revision_waits_for_a_batch_being_rated_and_is_refused_by_its_usage(
    db: Database, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    principal = platform_principal(world.root, world.root_admin)
    effective = later(1)
    rated = asyncio.Event()
    release = asyncio.Event()

    async def ingest() -> None:
        async with db.write() as session:
            await record_usage(
                session, principal, usage(priced, "ahead", effective + timedelta(minutes=5))
            )
            rated.set()
            await release.wait()

    async def revise() -> str | None:
        async with db.write() as session:
            try:
                await revise_tariff(
                    session, principal, revision(tariffs.customer, effective, "0.07")
                )
            except DomainError as error:
                return error.problems[0].message
        return None

    batch = asyncio.create_task(ingest())
    await rated.wait()
    reviser = asyncio.create_task(revise())
    await asyncio.sleep(SETTLE)
    waited = not reviser.done()
    release.set()
    await batch
    refusal = await reviser
    assert waited, "the revision must wait for the batch being rated"
    assert refusal is not None and "already been rated" in refusal
    # The record keeps the only version there is at its instant.
    assert await charges(db) == {"ahead": [Decimal("0.50"), Decimal("0.20"), Decimal("0.10")]}


async def test_concurrent_revisions_and_batches_leave_every_record_rated_by_its_version(
    gql: GraphQLClient, db: Database, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    """Many batches and revisions of both tariffs a record pays by at once: afterwards each
    record's charges at every level are those of the versions in force when it occurred."""
    principal = platform_principal(world.root, world.root_admin)
    start = now()

    async def ingest(batch: int) -> None:
        records = [
            NewUsageRecord(
                f"b{batch}-{i}",
                pk_of(priced.endpoint_id),
                UsageKind.DATA,
                Decimal(1 + i),
                start + timedelta(seconds=3 * i + batch),
            )
            for i in range(20)
        ]
        async with db.write() as session:
            await record_usage(session, principal, records)

    async def revise(tariff: str, seconds: int, price: str) -> None:
        # Refused when a batch already rated usage after the instant: that is allowed too.
        with contextlib.suppress(DomainError):
            async with db.write() as session:
                await revise_tariff(
                    session, principal, revision(tariff, start + timedelta(seconds=seconds), price)
                )

    await asyncio.gather(
        *(ingest(b) for b in range(6)),
        revise(tariffs.customer, 20, "0.07"),
        revise(tariffs.a1_pays, 25, "0.03"),
        revise(tariffs.customer, 40, "0.11"),
        revise(tariffs.a1_pays, 50, "0.04"),
    )
    async with db.read() as session:
        rows = (await session.execute(sa.select(UsageRecord))).scalars().all()
        pairs = [
            (pk_of(t), r.occurred_at) for r in rows for t in (tariffs.customer, tariffs.a1_pays)
        ]
        rates = await tariffs_repo.rates_in_force(session, pairs)
        assert await check_invariants(session) == []
    assert len(rows) == 120
    for row in rows:
        expected = [
            charge(row.quantity, rates[(pk_of(t), row.occurred_at)].get(UsageKind.DATA))
            for t in (tariffs.customer, tariffs.a1_pays)
        ]
        assert row.charges[:2] == expected, row.event_id

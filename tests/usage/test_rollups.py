"""Rollups stay equal to the records they sum, and reads from them equal reads of records.

Ingestion is random (trees, times at day edges, late records, retried batches, duplicate
event ids, concurrent batches); after it, the rollups are recomputed from the records by a
plain Python oracle and compared exactly. Reads over random ranges (edges mid-day or at
midnight, empty, whole days) are compared with sums over the raw records.
"""

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.tariffs.models import UsageKind
from tenantry.tenants.models import Tenant
from tenantry.usage import repository as repo
from tenantry.usage import service as usage
from tenantry.usage.models import UsageRecord
from tenantry.usage.repository import Sums, UsageOwner, Window
from tenantry.usage.rollups import rebuild_all_rollups, recompute_rollups
from tenantry.usage.service import NewUsageRecord
from tests.fixtures.database import StatementCounter
from tests.fixtures.factories import create_platform, platform_principal
from tests.usage.trees import (
    Tree,
    TreeShape,
    at,
    build_tree,
    edges,
    embedded_totals,
    instants,
    rollups_from_records,
    stored_rollups,
    tree_shapes,
)

_examples = itertools.count(1)
HOUR_US = 3_600_000_000

HYPOTHESIS = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Platform:
    root: Tenant
    actor: Principal


@pytest.fixture
async def platform(db: Database) -> Platform:
    root, admin = await create_platform(db)
    return Platform(root, platform_principal(root, admin))


@dataclass(frozen=True)
class Rec:
    endpoint: int  # an index into the tree's endpoints (modulo their number)
    event: int  # few event ids: duplicates within and across batches
    kind: UsageKind
    quantity: Decimal
    occurred_at: datetime


quantities = st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(61)]) | st.decimals(
    min_value=Decimal(0), max_value=Decimal(5000), places=6
)
recs = st.builds(
    Rec,
    st.integers(0, 6),
    st.integers(0, 40),
    st.sampled_from(list(UsageKind)),
    quantities,
    instants,
)
batches = st.lists(recs, max_size=12)


@dataclass(frozen=True)
class Step:
    """A batch, a retry of the step ``retry`` steps back, or two batches at once."""

    batch: list[Rec]
    retry: int | None = None
    alongside: list[Rec] | None = None


steps = st.lists(
    st.builds(Step, batches)
    | st.builds(Step, st.just([]), retry=st.integers(1, 3))
    | st.builds(Step, batches, alongside=batches),
    min_size=1,
    max_size=6,
)


def new_records(tree: Tree, batch: list[Rec], example: int) -> list[NewUsageRecord]:
    return [
        NewUsageRecord(
            event_id=f"x{example}-{r.event}",
            endpoint_id=tree.endpoint_ids[r.endpoint % len(tree.endpoint_ids)],
            kind=r.kind,
            quantity=r.quantity,
            occurred_at=r.occurred_at,
        )
        for r in batch
    ]


async def ingest(db: Database, actor: Principal, records: list[NewUsageRecord]) -> None:
    async with db.write() as session:
        await usage.record_usage(session, actor, records)


@HYPOTHESIS
@given(shape=tree_shapes(), plan=steps)
async def test_rollups_equal_the_records_after_random_ingestion(
    db: Database, platform: Platform, shape: TreeShape, plan: list[Step]
) -> None:
    tree = await build_tree(db, platform.actor, platform.root, shape)
    example = next(_examples)
    sent: list[list[NewUsageRecord]] = []
    for step in plan:
        if step.retry is not None:
            batch = sent[-step.retry] if len(sent) >= step.retry else []
            await ingest(db, platform.actor, batch)
        elif step.alongside is not None:
            one = new_records(tree, step.batch, example)
            other = new_records(tree, step.alongside, example)
            await asyncio.gather(ingest(db, platform.actor, one), ingest(db, platform.actor, other))
            sent += [one, other]
        else:
            sent.append(new_records(tree, step.batch, example))
            await ingest(db, platform.actor, sent[-1])

    expected = await rollups_from_records(db)
    assert await stored_rollups(db) == expected
    # Recounting everything (the migration's backfill does the same) changes nothing.
    async with db.write() as session:
        await rebuild_all_rollups(session)
    assert await stored_rollups(db) == expected


async def test_concurrent_batches_on_the_same_rows_lose_nothing(
    db: Database, platform: Platform
) -> None:
    """Eight batches at once, on the same tenants, days and kinds, half of their event ids
    shared: no deadlock, no lost update, every record counted once at every level."""
    shape = TreeShape([0, 1, 2, 3], [Decimal("0.01")] * 4, [Decimal("0.02")] * 5)
    tree = await build_tree(db, platform.actor, platform.root, shape)
    kinds = list(UsageKind)

    def batch(b: int) -> list[NewUsageRecord]:
        return [
            NewUsageRecord(
                event_id=f"shared-{i}" if i % 2 else f"own-{b}-{i}",
                endpoint_id=tree.endpoint_ids[i % len(tree.endpoint_ids)],
                kind=kinds[i % 3],
                quantity=Decimal(i % 7 + 1),
                occurred_at=at(1 + i % 3, (i * 7_919_000_000) % (24 * 3_600_000_000)),
            )
            for i in range((b * 37) % 200, (b * 37) % 200 + 200)
        ]

    await asyncio.gather(*(ingest(db, platform.actor, batch(b)) for b in range(8)))
    async with db.read() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(UsageRecord))
    assert count == len({r.event_id for b in range(8) for r in batch(b)})
    assert await stored_rollups(db) == await rollups_from_records(db)


async def test_one_rollup_statement_per_batch(
    db: Database, platform: Platform, statements: StatementCounter
) -> None:
    shape = TreeShape([0, 1], [Decimal("0.01")] * 2, [Decimal("0.02")] * 3)
    tree = await build_tree(db, platform.actor, platform.root, shape)
    for size in (1, 300):
        records = [
            NewUsageRecord(
                f"n{size}-{i}",
                tree.endpoint_ids[i % 3],
                UsageKind.SMS,
                Decimal(1),
                at(1 + i % 30, i),
            )
            for i in range(size)
        ]
        before = statements.count
        await ingest(db, platform.actor, records)
        rollup_statements = [s for s in statements.statements[before:] if "usage_rollups" in s]
        assert len(rollup_statements) == 1
    # A batch of nothing but duplicates writes no rollup.
    before = statements.count
    await ingest(db, platform.actor, records)
    assert not [s for s in statements.statements[before:] if "usage_rollups" in s]
    assert await stored_rollups(db) == await rollups_from_records(db)


# Reads ---------------------------------------------------------------------------------


async def totals_from_records(
    db: Database, tenant_id: int, subtree: bool, window: Window
) -> dict[str, Sums]:
    """The reference: sums over the raw records (what Tenant.usage read before rollups)."""
    sql = sa.text(
        f"""
        SELECT r.kind, sum(r.quantity),
               sum(coalesce(r.charges[r.depth - cardinality(o.path) + 3], 0)),
               sum(coalesce(r.charges[r.depth - cardinality(o.path) + 2], 0))
        FROM usage_records r JOIN tenants s ON s.id = r.tenant_id JOIN tenants o ON o.id = :t
        WHERE {"s.path @> ARRAY[o.id]" if subtree else "r.tenant_id = o.id"}
          AND r.occurred_at >= :since AND r.occurred_at < :until
        GROUP BY r.kind
        """
    )
    async with db.read() as session:
        rows = await session.execute(
            sql, {"t": tenant_id, "since": window.since, "until": window.until}
        )
        return {str(kind): Sums(q, cost, revenue) for kind, q, cost, revenue in rows.all()}


# Range ends: any day from the day before the data to the day after it, at its edges.
ends = st.builds(at, st.integers(0, 6), edges)


@HYPOTHESIS
@given(
    shape=tree_shapes(),
    batch=st.lists(recs, max_size=30),
    ranges=st.lists(st.tuples(ends, ends), min_size=1, max_size=5),
)
async def test_totals_from_rollups_equal_totals_from_records(
    db: Database,
    platform: Platform,
    shape: TreeShape,
    batch: list[Rec],
    ranges: list[tuple[datetime, datetime]],
) -> None:
    tree = await build_tree(db, platform.actor, platform.root, shape)
    await ingest(db, platform.actor, new_records(tree, batch, next(_examples)))
    # Whole days, an empty range and a range inside one day, besides the random ones.
    ranges = [*ranges, (at(1, 0), at(5, 0)), (at(2, 5), at(2, 5)), (at(3, 7), at(3, 9))]
    async with db.read() as session:
        depths = dict((await session.execute(sa.select(Tenant.id, Tenant.path))).all())
    for a, b in ranges:
        window = Window(min(a, b), max(a, b))
        for subtree in (True, False):
            owners = [UsageOwner("tenant", t, subtree, len(depths[t]) - 1) for t in tree.tenant_ids]
            async with db.read() as session:
                got = await repo.totals(session, owners, window)
                embedded = await embedded_totals(session, tree.tenant_ids, window, subtree)
            for owner in owners:
                expected = await totals_from_records(db, owner.id, subtree, window)
                mine = {kind: sums for (o, kind), sums in got.items() if o == owner}
                assert mine == expected, (owner, window)
                assert embedded.get(owner.id, {}) == expected, (owner, window)


async def test_recompute_rollups_recounts_only_the_tenants_given(
    db: Database, platform: Platform
) -> None:
    shape = TreeShape([0, 0], [Decimal("0.01")] * 2, [Decimal("0.02")] * 3)
    tree = await build_tree(db, platform.actor, platform.root, shape)
    records = [
        NewUsageRecord(f"r{i}", tree.endpoint_ids[i % 3], UsageKind.SMS, Decimal(1), at(2, i))
        for i in range(9)
    ]
    await ingest(db, platform.actor, records)
    expected = await stored_rollups(db)
    async with db.write() as session:
        await session.execute(sa.text("UPDATE usage_rollups SET tree_quantity = 0"))
        await recompute_rollups(session, [tree.tenant_ids[1]])
    stored = await stored_rollups(db)
    recounted = {key: sums for key, sums in stored.items() if key[0] == tree.tenant_ids[1]}
    assert recounted == {k: v for k, v in expected.items() if k[0] == tree.tenant_ids[1]}
    # The others were left alone (still zeroed by hand).
    assert all(sums[5] == 0 for key, sums in stored.items() if key[0] != tree.tenant_ids[1])

"""Usage totals over ranges with mid-day edges stay the sums of the records as they were
rated, across moves of sub-trees.

Random trees get usage, then a sub-tree moves (its records so far stay with the ancestors
that were charged for them; later ones go up the new branch), more usage, another move, and
so on. Then both read paths' totals (the loaders' statement and the factory embedded as a
compiled read embeds it) over random ranges, their edges anywhere in a day, are compared with
sums computed in Python from the records and the path each was rated up.
"""

import itertools
from collections import defaultdict
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
from tenantry.tenants.models import Tenant, TenantPlacement
from tenantry.tenants.move import MoveRequest, move_tenant
from tenantry.usage import repository as repo
from tenantry.usage import service as usage
from tenantry.usage.models import UsageRecord
from tenantry.usage.repository import Sums, UsageOwner, Window
from tenantry.usage.service import NewUsageRecord
from tests.fixtures.factories import create_platform, platform_principal
from tests.usage.trees import Tree, TreeShape, at, build_tree, edges, embedded_totals, tree_shapes

_examples = itertools.count(1)


@dataclass(frozen=True)
class Use:
    endpoint: int  # an index into the tree's endpoints (modulo their number)
    kind: UsageKind
    quantity: Decimal
    day: int
    microseconds: int


uses = st.builds(
    Use,
    st.integers(0, 6),
    st.sampled_from(list(UsageKind)),
    st.decimals(min_value=Decimal(0), max_value=Decimal(500), places=3),
    st.integers(1, 4),
    edges,
)


@dataclass(frozen=True)
class Round:
    """A batch of usage, then a move: tenant ``mover`` (modulo the tenants below the root)
    under the ``parent``-th of the places it may go (modulo their number)."""

    batch: list[Use]
    mover: int
    parent: int


rounds = st.lists(
    st.builds(Round, st.lists(uses, max_size=8), st.integers(0, 6), st.integers(0, 6)),
    min_size=1,
    max_size=3,
)
ends = st.builds(at, st.integers(0, 5), edges)


@pytest.fixture
async def platform(db: Database) -> tuple[Tenant, Principal]:
    root, admin = await create_platform(db)
    return root, platform_principal(root, admin)


async def ingest(db: Database, actor: Principal, tree: Tree, batch: list[Use]) -> None:
    records = [
        NewUsageRecord(
            event_id=f"m{next(_examples)}",
            endpoint_id=tree.endpoint_ids[u.endpoint % len(tree.endpoint_ids)],
            kind=u.kind,
            quantity=u.quantity,
            occurred_at=at(u.day, u.microseconds),
        )
        for u in batch
    ]
    async with db.write() as session:
        await usage.record_usage(session, actor, records)


async def move_one(db: Database, actor: Principal, tree: Tree, step: Round) -> None:
    """Move a tenant under one of the tenants outside its sub-tree, other than its parent."""
    async with db.read() as session:
        rows = (
            await session.execute(
                sa.select(Tenant.id, Tenant.parent_id, Tenant.path).where(
                    Tenant.id.in_(tree.tenant_ids)
                )
            )
        ).all()
    paths = {tenant_id: path for tenant_id, _, path in rows}
    parents = {tenant_id: parent for tenant_id, parent, _ in rows}
    movable = tree.tenant_ids[1:]
    mover = movable[step.mover % len(movable)]
    places = [t for t in tree.tenant_ids if mover not in paths[t] and t != parents[mover]]
    if not places:
        return
    request = MoveRequest(mover, places[step.parent % len(places)], dry_run=False)
    async with db.write() as session:
        await move_tenant(session, actor, request)


async def totals_as_rated(
    db: Database, owners: list[UsageOwner], window: Window
) -> dict[UsageOwner, dict[str, Sums]]:
    """The oracle: each record in the window, counted for the tenants on the path it was
    rated up (its tenant's current path, or a placement's if rated before a move), each at
    its place on that path; own usage is the records of the owner's own endpoints."""
    async with db.read() as session:
        records = (
            await session.execute(
                sa.select(
                    UsageRecord.id,
                    UsageRecord.tenant_id,
                    UsageRecord.depth,
                    UsageRecord.charges,
                    UsageRecord.kind,
                    UsageRecord.quantity,
                ).where(window.of(UsageRecord.occurred_at))
            )
        ).all()
        tenants = {
            t.id: (t.path, t.placed_after_record_id)
            for t in (await session.scalars(sa.select(Tenant))).all()
        }
        placements = (await session.scalars(sa.select(TenantPlacement))).all()

    def rated_path(record_id: int, tenant_id: int) -> list[int]:
        path, placed_after = tenants[tenant_id]
        if record_id > placed_after:
            return list(path)
        for p in placements:
            if p.tenant_id == tenant_id and p.records_after < record_id <= p.records_through:
                return list(p.path)
        raise AssertionError(f"record {record_id} has no path")

    found: dict[UsageOwner, dict[str, list[Decimal]]] = defaultdict(dict)
    for record_id, tenant_id, depth, charges, kind, quantity in records:
        path = rated_path(record_id, tenant_id)
        for owner in owners:
            if owner.subtree and owner.id in path:
                level = depth - path.index(owner.id)
            elif not owner.subtree and owner.id == tenant_id:
                level = 0
            else:
                continue
            cost = charges[level + 1] if level + 1 < len(charges) else Decimal(0)
            sums = found[owner].setdefault(str(kind), [Decimal(0)] * 3)
            for i, value in enumerate((quantity, cost, charges[level])):
                sums[i] += value
    return {
        owner: {kind: Sums(*sums) for kind, sums in by_kind.items()}
        for owner, by_kind in found.items()
    }


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shape=tree_shapes(),
    plan=rounds,
    last=st.lists(uses, max_size=8),
    ranges=st.lists(st.tuples(ends, ends), min_size=1, max_size=4),
)
async def test_totals_with_mid_day_edges_follow_records_across_moves(
    db: Database,
    platform: tuple[Tenant, Principal],
    shape: TreeShape,
    plan: list[Round],
    last: list[Use],
    ranges: list[tuple[datetime, datetime]],
) -> None:
    root, actor = platform
    tree = await build_tree(db, actor, root, shape)
    for step in plan:
        await ingest(db, actor, tree, step.batch)
        await move_one(db, actor, tree, step)
    await ingest(db, actor, tree, last)
    # Edges mid-day on both sides and a range inside one day, besides the random ones.
    ranges = [*ranges, (at(1, 1), at(4, 12 * 3_600_000_000)), (at(2, 5), at(2, 9))]
    async with db.read() as session:
        paths = dict((await session.execute(sa.select(Tenant.id, Tenant.path))).all())
    for a, b in ranges:
        window = Window(min(a, b), max(a, b))
        for subtree in (True, False):
            owners = [UsageOwner("tenant", t, subtree, len(paths[t]) - 1) for t in tree.tenant_ids]
            expected = await totals_as_rated(db, owners, window)
            async with db.read() as session:
                got = await repo.totals(session, owners, window)
                embedded = await embedded_totals(session, tree.tenant_ids, window, subtree)
            for owner in owners:
                mine = {kind: sums for (o, kind), sums in got.items() if o == owner}
                assert mine == expected.get(owner, {}), (owner, window)
                assert embedded.get(owner.id, {}) == expected.get(owner, {}), (owner, window)

"""Moving a sub-tree that holds a million usage records, and reading usage before and after.

Fills usage with SQL under root -> l1 -> l2 -> l3 -> l4 (customers under l4), then measures
in one run:
- `Tenant.usage` totals of l1's sub-tree (``usage.repository.totals``: records rated up their
  tenants' current paths UNION ALL records rated before a move, found through
  ``tenant_placements``) against the baseline, the single join the read used before moves
  existed, over the same records;
- the move of l3 (with l4 and its records) under a new tenant: one transaction that notes
  where each moved tenant sat (a row per tenant; no usage record is rewritten);
- the same totals after the move, now all read through ``tenant_placements``.

    .venv/bin/python -m benchmarks.move_subtree [--records 1000000] [--endpoints 2000]
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from benchmarks.common import fresh_database
from benchmarks.ingest_usage import build_tree
from benchmarks.usage_report import FILL
from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.tenants import move, service
from tenantry.tenants.models import SubscriptionType, Tenant
from tenantry.tenants.service import NewSubTenant
from tenantry.usage import repository as usage_repo
from tenantry.usage.repository import UsageOwner, Window

WINDOW = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))

# What a sub-tree's totals were before moves existed: the tenants below, joined to their
# records by tenant id, each record's level by the tenant's current depth.
BASELINE = sa.text(
    """
    SELECT u.kind, sum(u.quantity),
           coalesce(sum(coalesce(u.charges[u.depth - :depth + 2], 0)), 0),
           coalesce(sum(coalesce(u.charges[u.depth - :depth + 1], 0)), 0)
    FROM tenants below JOIN usage_records u ON u.tenant_id = below.id
    WHERE below.path @> ARRAY[CAST(:id AS bigint)]
      AND u.occurred_at >= :since AND u.occurred_at < :until
    GROUP BY u.kind
    """
)


async def best_of(runs: int, work: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return min(times)


async def reads(db: Database, tenant: Tenant, label: str) -> None:
    owner = UsageOwner("tenant", tenant.id, True, tenant.depth)

    async def current() -> object:
        async with db.read() as session:
            return await usage_repo.totals(session, [owner], WINDOW)

    async def baseline() -> object:
        async with db.read() as session:
            params = {"id": tenant.id, "depth": tenant.depth}
            params |= {"since": WINDOW.since, "until": WINDOW.until}
            return (await session.execute(BASELINE, params)).all()

    ours, base = await best_of(5, current), await best_of(5, baseline)
    print(
        f"  {label:<44} totals {ours * 1000:8.1f} ms   baseline join {base * 1000:8.1f} ms"
        f"   ratio {ours / base:.2f}"
    )


async def run(db: Database, actor: Principal, records: int, endpoints: int) -> None:
    async with db.write() as session:
        await session.execute(FILL, {"n": records, "endpoints": endpoints, "prefix": "m-"})
        other = await service.create_sub_tenant(
            session,
            actor,
            NewSubTenant(
                actor.tenant_id,
                "Other",
                "other",
                [SubscriptionType.INTEGRATED],
                inherit_sponsor_operators=True,
            ),
        )
        l1 = await session.scalar(sa.select(Tenant).where(Tenant.moniker == "level-1"))
        l3 = await session.scalar(sa.select(Tenant).where(Tenant.moniker == "level-3"))
    assert l1 is not None and l3 is not None
    print(f"usage records: {records}")
    await reads(db, l1, "l1's sub-tree, before the move")

    async def moving() -> None:
        async with db.write() as session:
            request = move.MoveRequest(l3.id, other.id, dry_run=False)
            await move.move_tenant(session, actor, request)

    started = time.perf_counter()
    await moving()
    took = time.perf_counter() - started
    print(f"  move l3 and {records} records under another tenant: {took:.2f} s")
    await reads(db, l1, "l1's sub-tree, after (all via placements)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--endpoints", type=int, default=2_000)
    args = parser.parse_args()
    url = await fresh_database("tenantry_bench_move")
    db = Database.connect(url, pool_size=4)
    try:
        actor, _ = await build_tree(db, endpoints=args.endpoints)
        await run(db, actor, args.records, args.endpoints)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())

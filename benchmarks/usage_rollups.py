"""Sub-tree usage from the daily rollups: flat in the number of records, and as cheap as a
tenant's own usage.

Builds a ~5,000-tenant tree (3 levels, through the product's services), one customer and
endpoint per tenant (set-based SQL), then usage records over 12 months written by
set-based SQL in the product's storage format (the endpoint's tenant, its depth, one charge
per level up to the root, as rating stores them; rating through the API would take hours
for 2M records) and backfills the rollups with ``rebuild_all_rollups`` (what migration 0014
does). At a tenth of the records and again at the full size, it measures in the same run:
- (a) the whole tree (tenants -> subTenants -> subTenants) with each tenant's usage totals
  over the year, resolver path in-process to bytes, ``includeDescendants: true`` vs
  ``false``; and the same over a range with mid-day edges;
- (b) one tenant's sub-tree total over the year (``usage_totals_select``), for the root
  and a first-level tenant; the same with mid-day edges.
With ``--raw`` it also times the same sub-tree totals summed from the raw records (what
Tenant.usage did before rollups) at the smaller size.

    .venv/bin/python -m benchmarks.usage_rollups [--records 2000000] [--tenants 5000]
        [--repeat 3] [--reuse | --refill] [--database tenantry_bench_rollups]
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
import sqlalchemy as sa

from benchmarks.common import database_url, fresh_database
from benchmarks.reads import build_tree, reader
from tenantry.auth.models import Role, User
from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.tenants.models import Tenant
from tenantry.usage.repository import ensure_partitions
from tenantry.usage.rollups import rebuild_all_rollups, usage_totals_select

YEAR = (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
MID_DAY = (datetime(2025, 12, 1, 9, 30, tzinfo=UTC), datetime(2026, 11, 30, 17, 45, tzinfo=UTC))

CUSTOMERS = """
WITH opened AS (
  INSERT INTO accounts (tenant_id, owner_kind, currency, credit_limit, balance)
  SELECT id, 'CUSTOMER', currency, 0, 0 FROM tenants ORDER BY id
  RETURNING id, tenant_id
), customer AS (
  INSERT INTO customers (tenant_id, name, subscription_type, account_id)
  SELECT tenant_id, 'Customer', 'INTEGRATED', id FROM opened
  RETURNING id, tenant_id
)
INSERT INTO endpoints (tenant_id, customer_id, name, iccid, sponsor_operator_id)
SELECT tenant_id, id, 'SIM', '89' || lpad(id::text, 18, '0'),
       (SELECT min(id) FROM sponsor_operators)
FROM customer
"""
OPERATOR = """
INSERT INTO sponsor_operators (tenant_id, name)
SELECT id, 'Operator' FROM tenants WHERE parent_id IS NULL
"""

# Record g: endpoint (g * 7919) mod the endpoints, time spread evenly over the year, kind
# g mod 3; the charges of a record at depth d are d + 1 levels (customer -> ... -> root).
FILL = """
WITH e AS (
  SELECT row_number() OVER (ORDER BY en.id) - 1 AS n, en.id, en.tenant_id, en.customer_id,
         cardinality(t.path) - 1 AS depth
  FROM endpoints en JOIN tenants t ON t.id = en.tenant_id
), total AS (SELECT count(*) AS endpoints FROM e)
INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges,
                           occurred_at, event_id)
SELECT e.tenant_id, e.customer_id, e.id, (ARRAY['DATA','SMS','VOICE'])[1 + g % 3],
       (g % 1000) / 100.0, e.depth,
       (ARRAY[0.050000, 0.040000, 0.030000, 0.020000, 0.010000])[1:e.depth + 1],
       $1::timestamptz + (g - $3) * (($2::timestamptz - $1::timestamptz) / ($4 - $3 + 1)),
       'bench-' || g
FROM generate_series($3::bigint, $4::bigint) AS g, total
JOIN e ON true
WHERE e.n = (g * 7919) % total.endpoints
"""


def whole_tree(sub: bool, since: datetime, until: datetime) -> str:
    usage = (
        f'usage(from: "{since.isoformat()}", to: "{until.isoformat()}", '
        f"includeDescendants: {'true' if sub else 'false'}) "
        "{ totals { kind quantity cost { amount } revenue { amount } } }"
    )
    node = f"id moniker {usage}"
    inner = f"subTenants(first: 100) {{ edges {{ node {{ {node} }} }} }}"
    middle = f"subTenants(first: 100) {{ edges {{ node {{ {node} {inner} }} }} }}"
    top = f"subTenants(first: 100) {{ edges {{ node {{ {node} {middle} }} }} }}"
    return f"{{ viewer {{ tenant {{ {node} {top} }} }} }}"


async def best_of(work: Callable[[], Awaitable[object]], repeat: int) -> float:
    await work()  # warm: caches, prepared statements
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        best = min(best, time.perf_counter() - started)
    return best


async def fill(db: Database, first: int, last: int) -> float:
    started = time.perf_counter()
    async with db.write() as session:
        # Records are stored in monthly partitions: the year's first, as ingestion would.
        months = (YEAR[0] + timedelta(days=31 * n) for n in range(12))
        await ensure_partitions(session, [*months, YEAR[1] - timedelta(microseconds=1)])
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.execute(FILL, *YEAR, first, last)
        await driver.execute("ANALYZE usage_records")
    filled = time.perf_counter() - started
    started = time.perf_counter()
    async with db.write() as session:
        await rebuild_all_rollups(session)
    async with db.engine.connect() as connection:
        await connection.execute(sa.text("ANALYZE usage_rollups"))
        await connection.commit()
    print(
        f"  records {first:,}..{last:,} written in {filled:.1f} s; "
        f"rollups rebuilt in {time.perf_counter() - started:.1f} s"
    )
    return filled


RAW_SUBTREE = """
SELECT r.kind, sum(r.quantity), sum(coalesce(r.charges[r.depth - $2 + 2], 0)),
       sum(coalesce(r.charges[r.depth - $2 + 1], 0))
FROM usage_records r JOIN tenants s ON s.id = r.tenant_id
WHERE s.path @> ARRAY[$1::bigint] AND r.occurred_at >= $3 AND r.occurred_at < $4
GROUP BY r.kind
"""


async def subtree_total(db: Database, tenant_id: int, since: datetime, until: datetime) -> object:
    stmt = usage_totals_select(tenant_id, since, until, True)
    async with db.read() as session:
        return (await session.execute(stmt)).all()


async def raw_subtree_total(
    db: Database, tenant_id: int, depth: int, since: datetime, until: datetime
) -> object:
    async with db.bare() as connection:
        return await connection.fetch(RAW_SUBTREE, tenant_id, depth, since, until)


async def every_tenant(db: Database, since: datetime, until: datetime, sub: bool) -> object:
    """What a compiled read would run: the factory correlated with every tenant."""
    usage = usage_totals_select(Tenant.id, since, until, sub).lateral("usage")
    stmt = sa.select(Tenant.id, usage).join(usage, sa.true())
    async with db.read() as session:
        return (await session.execute(stmt)).all()


async def measure(
    db: Database, url: str, actor: Any, ids: list[int], *, repeat: int, raw: bool
) -> dict[str, float]:
    async with db.read() as session:
        count = await session.scalar(sa.text("SELECT count(*) FROM usage_records"))
        rollups = await session.scalar(sa.text("SELECT count(*) FROM usage_rollups"))
    print(f"-- {count:,} records, {rollups:,} rollup rows")
    figures: dict[str, float] = {}
    for name, tenant_id, depth in (("root", actor.tenant_id, 0), ("level-1 tenant", ids[0], 1)):
        for label, (since, until) in (("year", YEAR), ("mid-day edges", MID_DAY)):
            total = partial(subtree_total, db, tenant_id, since, until)
            seconds = await best_of(total, repeat * 4)
            figures[f"total {name} {label}"] = seconds
            print(f"  (b) sub-tree total, {name}, {label:<14} {seconds * 1000:9.2f} ms")
            if raw:
                from_records = partial(raw_subtree_total, db, tenant_id, depth, since, until)
                seconds = await best_of(from_records, 1)
                print(f"      the same summed from the raw records   {seconds * 1000:9.2f} ms")

    for label, (since, until) in (("year", YEAR), ("mid-day edges", MID_DAY)):
        sub = await best_of(partial(every_tenant, db, since, until, True), repeat)
        own = await best_of(partial(every_tenant, db, since, until, False), repeat)
        print(
            f"  (a) in SQL: every tenant's totals, one statement, {label:<14} sub-tree "
            f"{sub * 1000:8.1f} ms, own {own * 1000:8.1f} ms, ratio {sub / own:5.2f}"
        )

    read = reader(db, url, actor, compiled=False)
    for label, (since, until) in (("year", YEAR), ("mid-day edges", MID_DAY)):
        sub_query, own_query = whole_tree(True, since, until), whole_tree(False, since, until)
        body = orjson.loads(await read(sub_query, {}))
        assert body["data"]["viewer"]["tenant"]["usage"]["totals"], "no usage read"
        sub = await best_of(lambda: read(sub_query, {}), repeat)  # noqa: B023
        own = await best_of(lambda: read(own_query, {}), repeat)  # noqa: B023
        figures[f"tree {label}"] = sub / own
        print(
            f"  (a) whole tree ({len(ids) + 1} tenants), {label:<14} sub-tree usage "
            f"{sub * 1000:8.1f} ms, own usage {own * 1000:8.1f} ms, ratio {sub / own:5.2f}"
        )
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--tenants", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw", action="store_true", help="time raw-record sums too (slow)")
    parser.add_argument("--reuse", action="store_true", help="only measure the last run's data")
    parser.add_argument("--database", default="tenantry_bench_rollups")
    parser.add_argument(
        "--refill", action="store_true", help="keep the last run's tree, write usage again"
    )
    args = parser.parse_args()
    if args.reuse:
        await reuse(args.database, args.repeat)
        return
    if args.refill:
        url = database_url(args.database)
        db = Database.connect(url, pool_size=4)
        actor, ids = await existing_tree(db)
        async with db.write() as session:
            await session.execute(sa.text("TRUNCATE usage_records, usage_rollups"))
    else:
        url = await fresh_database(args.database)
        db = Database.connect(url, pool_size=4)
    try:
        if not args.refill:
            started = time.perf_counter()
            actor, ids = await build_tree(db, args.tenants)
            async with db.write() as session:
                await session.execute(sa.text(OPERATOR))
                await session.execute(sa.text(CUSTOMERS))
            print(f"tree of {len(ids) + 1} tenants built in {time.perf_counter() - started:.0f} s")
        small = args.records // 10
        await fill(db, 1, small)
        before = await measure(db, url, actor, ids, repeat=args.repeat, raw=args.raw)
        await fill(db, small + 1, args.records)
        after = await measure(db, url, actor, ids, repeat=args.repeat, raw=False)
        print(f"-- {small:,} -> {args.records:,} records: time at the larger size / smaller")
        for key in before:
            if key.startswith("total"):
                print(f"  {key[6:]:<30} {after[key] / before[key]:5.2f}")
    finally:
        await db.dispose()


async def existing_tree(db: Database) -> tuple[Principal, list[int]]:
    """The platform admin and the tenants below the root of the last run's tree."""
    async with db.read() as session:
        root = await session.scalar(sa.select(Tenant).where(Tenant.parent_id.is_(None)))
        assert root is not None
        admin = await session.scalar(sa.select(User.id).where(User.tenant_id == root.id))
        first = await session.scalars(
            sa.select(Tenant.id).where(Tenant.parent_id.is_not(None)).order_by(Tenant.id)
        )
        ids = list(first.all())
    assert admin is not None
    return Principal(admin, root.id, Role.ADMIN, is_platform=True, token_id=0), ids


async def reuse(database: str, repeat: int) -> None:
    url = database_url(database)
    db = Database.connect(url, pool_size=4)
    try:
        actor, ids = await existing_tree(db)
        await measure(db, url, actor, ids, repeat=repeat, raw=False)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())

"""Nested reads: the resolver path, the compiled path, and one hand-written SQL statement.

Builds a 3-level tree through the product's own services (resellers -> sub-tenants ->
sub-sub-tenants, every account with a balance), then measures in-process, to response
bytes, on the same data in the same run:
- the whole tree (tenants -> subTenants -> subTenants, with account balances),
- a small query, ``tenant(id) { name account { balance { amount } } }``,
each on the resolver path, on the compiled path, and as one hand-written SQL statement
producing the same JSON (the floor). The answers are checked equal before timing.

    .venv/bin/python -m benchmarks.reads [--sizes 500 5000] [--repeat 5]
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
import strawberry

from benchmarks.common import fresh_database
from tenantry.api.context import Context
from tenantry.api.schema import build_schema
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import bootstrap_platform
from tenantry.db.engine import Database
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import SystemPurpose, TransactionKind
from tenantry.ledger.service import Leg
from tenantry.settings import Settings
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType
from tenantry.tenants.service import NewSubTenant

NODE = "id name moniker account { balance { amount currency } }"
WHOLE_TREE = (
    "{ viewer { tenant { subTenants(first: 100) { totalCount edges { cursor node { "
    + NODE
    + " subTenants(first: 100) { totalCount edges { cursor node { "
    + NODE
    + " subTenants(first: 100) { totalCount edges { cursor node { "
    + NODE
    + " } } } } } } } } } } } }"
)
SMALL = "query($id: ID!) { tenant(id: $id) { name account { balance { amount } } } }"

# The floor: what a person would write by hand for the same JSON (root admin: no filter).
_CURSOR = "translate(encode(convert_to('cursor:' || {t}.id, 'UTF8'), 'base64'), '+/', '-_')"
_NODE_SQL = """json_build_object('id', encode(convert_to('Tenant:' || {t}.id, 'UTF8'), 'base64'),
  'name', {t}.name, 'moniker', {t}.moniker,
  'account', (SELECT json_build_object('balance', json_build_object(
      'amount', CASE WHEN round(a.balance, 2) = a.balance THEN round(a.balance, 2)::text
                     ELSE trim_scale(a.balance)::text END, 'currency', a.currency))
    FROM accounts a WHERE a.tenant_id = {t}.id AND a.owner_kind = 'TENANT'){more})"""


def _level(parent: str, depth: int) -> str:
    t = f"t{depth}"
    more = "" if depth == 3 else ", 'subTenants', " + _level(t, depth + 1)
    node = _NODE_SQL.format(t=t, more=more)
    return f"""(SELECT json_build_object(
      'totalCount', (SELECT count(*) FROM tenants c WHERE c.parent_id = {parent}.id
                     AND c.kind = 'SUB_TENANT'),
      'edges', coalesce(json_agg(json_build_object('cursor', {_CURSOR.format(t=t)},
                                                   'node', {node}) ORDER BY {t}.id), '[]'))
    FROM (SELECT * FROM tenants x WHERE x.parent_id = {parent}.id AND x.kind = 'SUB_TENANT'
          ORDER BY x.id LIMIT 100) {t})"""


FLOOR_TREE = f"""SELECT json_build_object('viewer', json_build_object('tenant',
  json_build_object('subTenants', {_level("r", 1)})))::text
FROM tenants r WHERE r.id = $1"""
FLOOR_SMALL = """SELECT json_build_object('tenant', (SELECT json_build_object('name', t.name,
  'account', (SELECT json_build_object('balance', json_build_object('amount',
      CASE WHEN round(a.balance, 2) = a.balance THEN round(a.balance, 2)::text
           ELSE trim_scale(a.balance)::text END))
    FROM accounts a WHERE a.tenant_id = t.id AND a.owner_kind = 'TENANT'))
  FROM tenants t WHERE t.id = $1))::text"""


async def build_tree(db: Database, size: int) -> tuple[Principal, list[int]]:
    """About ``size`` tenants on 3 levels (w, w*w and w*w*w of them), with balances."""
    width = max(2, round(size ** (1 / 3)))
    async with db.write() as session:
        boot = await bootstrap_platform(
            session, name="Platform", moniker="platform", currency="EUR", admin_email="a@x.io"
        )
    root = boot.root
    actor = Principal(boot.admin.id, root.id, Role.ADMIN, is_platform=True, token_id=0)
    ids: list[int] = []
    level = [root.id]
    for depth in range(1, 4):
        below = []
        for parent_id in level:
            async with db.write() as session:
                for i in range(width):
                    tenant = await tenants.create_sub_tenant(
                        session,
                        actor,
                        NewSubTenant(
                            parent_id=parent_id,
                            name=f"Tenant {parent_id}-{i}",
                            moniker=f"t{depth}-{parent_id}-{i}",
                            subscription_types=[SubscriptionType.INTEGRATED],
                        ),
                    )
                    below.append(tenant.id)
        ids += below
        level = below
    async with db.write() as session:
        funding = await ledger_repo.system_account(
            session, root_tenant_id=root.id, purpose=SystemPurpose.FUNDING, currency="EUR"
        )
        accounts = await ledger_repo.tenant_accounts(session, actor.scope, ids)
        kind = TransactionKind.TOP_UP
        for n, account in enumerate(accounts):
            amount = Decimal(n % 997) + Decimal("0.25") if n % 3 else Decimal("12.345678")
            await ledger.post_transfer(
                session,
                tenant_id=root.id,
                kind=kind,
                legs=[Leg(account.id, amount, kind), Leg(funding.id, -amount, kind)],
            )
    return actor, ids


def reader(
    db: Database, url: str, actor: Principal, compiled: bool
) -> Callable[[str, dict[str, Any]], Awaitable[bytes]]:
    # The whole tree is a deliberately big read: over the default cost budget, which this
    # benchmark does not measure.
    settings = Settings(
        database_url=url,
        compiled_reads=compiled,
        max_query_cost=10**9,
        rate_limit_per_minute=0,  # measure reads, not the limiter
    )
    schema = build_schema(settings)

    async def read(query: str, variables: dict[str, Any]) -> bytes:
        context = Context(
            request=None,  # type: ignore[arg-type]
            response=None,
            db=db,
            settings=settings,
            request_id="bench",
            principal=actor,
        )
        result = await schema.execute(query, variables, context_value=context)
        assert not result.errors, result.errors
        return orjson.dumps({"data": result.data})

    return read


async def timed(work: Callable[[], Awaitable[object]], repeat: int) -> float:
    await work()  # warm: caches, prepared statements
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        best = min(best, time.perf_counter() - started)
    return best


async def floor(db: Database, sql: str, *args: Any) -> bytes:
    # The same pool as the compiled path (no ping): the floor is the statement alone.
    async with (db.reads or db.engine).connect() as connection:
        raw = await connection.get_raw_connection()
        text: str = await raw.driver_connection.fetchval(sql, *args)  # type: ignore[union-attr]
    return b'{"data":' + text.encode() + b"}"


async def run(size: int, repeat: int) -> None:
    url = await fresh_database("tenantry_bench_reads")
    db = Database.connect(url, pool_size=4)
    try:
        actor, ids = await build_tree(db, size)
        resolver = reader(db, url, actor, compiled=False)
        compiled = reader(db, url, actor, compiled=True)
        small_vars = {"id": str(strawberry.relay.GlobalID("Tenant", str(ids[-1])))}
        cases = {
            "whole tree": (
                lambda: resolver(WHOLE_TREE, {}),
                lambda: compiled(WHOLE_TREE, {}),
                lambda: floor(db, FLOOR_TREE, actor.tenant_id),
            ),
            "small query": (
                lambda: resolver(SMALL, small_vars),
                lambda: compiled(SMALL, small_vars),
                lambda: floor(db, FLOOR_SMALL, ids[-1]),
            ),
        }
        print(f"-- {len(ids) + 1} tenants, 3 levels, every account with a balance")
        for name, (slow, fast, hand) in cases.items():
            answers = [orjson.loads(await f()) for f in (slow, fast, hand)]
            assert answers[0] == answers[1] == answers[2], f"{name}: answers differ"
            n = repeat if name == "whole tree" else repeat * 40
            seconds = [await timed(f, n) for f in (slow, fast, hand)]
            size_kib = len(await fast()) / 1024
            print(
                f"  {name:<12} ({size_kib:8.1f} KiB)  resolver {seconds[0] * 1000:9.2f} ms"
                f"  compiled {seconds[1] * 1000:8.2f} ms  floor {seconds[2] * 1000:8.2f} ms"
                f"  |  resolver/floor {seconds[0] / seconds[2]:6.2f}"
                f"  compiled/floor {seconds[1] / seconds[2]:5.2f}"
            )
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for size in args.sizes:
        await run(size, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())

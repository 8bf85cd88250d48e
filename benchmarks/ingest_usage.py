"""Ingest a realistic usage feed over HTTP, against a plain bulk insert of the same rows.

The feed: a tree of about 2,200 tenants on three levels (each level paying its parent by a
tenant tariff), 3,000 customers spread over the leaves with 3 endpoints each (9,000
endpoints), and records in time order, each from a random endpoint, sent 10,000 to a
`recordUsage` call to a real server (`tenantry serve`, uvicorn, on 127.0.0.1). A batch
touches about 5,000 endpoints and as many accounts.

The baseline, in the same run: the same rows (with a depth and one charge per level, as a
rated row has) bulk-inserted with one multi-row INSERT per batch into a plain table with the
same columns and indexes, by a client in this process. Prints records per second for both
and their ratio. Aim: >= 0.4.

    .venv/bin/python -m benchmarks.ingest_usage [--batches 5] [--batch 10000]
    .venv/bin/python -m benchmarks.ingest_usage --profile  # cProfile of the server, top 25
"""

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
from strawberry import relay

from benchmarks.burst import _free_port, start_server, wait_ready
from benchmarks.common import database_exists, fresh_database, rename_database
from tenantry.auth import service as auth
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import NewApiToken, bootstrap_platform
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType
from tenantry.tenants.service import NewSubTenant, TenantChanges

DATABASE = "tenantry_bench_ingest"  # --database; its tree's template is DATABASE + "_tree"
RESELLERS, SUBS, LEAVES = 12, 12, 14  # 12 + 144 + 2,016 tenants under the root
CUSTOMERS, ENDPOINTS_PER_CUSTOMER = 3_000, 3
RATES = [
    NewRate(UsageKind.DATA, Decimal("0.01")),
    NewRate(UsageKind.SMS, Decimal("0.0004")),
    NewRate(UsageKind.VOICE, Decimal("0.02"), increment=Decimal(1), minimum=Decimal(60)),
]
RECORD = """mutation($r: [UsageRecordInput!]!) { recordUsage(input: {records: $r}) {
  accepted duplicates userErrors { code message field } } }"""


async def build_tree(db: Database, endpoints: int) -> tuple[Principal, list[int]]:
    """benchmarks/usage_report.py's tree: root -> l1 -> l2 -> l3 -> l4, each level paying its
    parent; customers under l4."""
    async with db.write() as session:
        boot = await bootstrap_platform(
            session, name="P", moniker="platform", currency="EUR", admin_email="a@b.c"
        )
        actor = Principal(boot.admin.id, boot.root.id, Role.ADMIN, is_platform=True, token_id=0)
        operator = await operators.create_operator(session, actor, "Op")
        parent = boot.root
        for depth in range(1, 5):
            tariff = await tariffs.create_tariff(
                session, actor, NewTariff(parent.id, f"L{depth}", RATES)
            )
            child = await tenants.create_sub_tenant(
                session,
                actor,
                NewSubTenant(
                    parent.id,
                    f"Level {depth}",
                    f"level-{depth}",
                    [SubscriptionType.INTEGRATED],
                    inherit_sponsor_operators=True,
                ),
            )
            await tenants.update_tenant(
                session, actor, TenantChanges(child.id, tenant_tariff_id=tariff.id)
            )
            parent = child
        customer_tariff = await tariffs.create_tariff(
            session, actor, NewTariff(parent.id, "Customers", RATES)
        )
        endpoint_ids = []
        for c in range(endpoints // 10):
            customer = await customers.create_customer(
                session,
                actor,
                NewCustomer(parent.id, f"C{c}", SubscriptionType.INTEGRATED, customer_tariff.id),
            )
            for e in range(10):
                endpoint = await customers.create_endpoint(
                    session,
                    actor,
                    NewEndpoint(customer.id, f"E{e}", f"89{c:08d}{e:010d}", operator.id),
                )
                endpoint_ids.append(endpoint.id)
    return actor, endpoint_ids


def _sub(parent_id: int, moniker: str, tariff_id: int) -> NewSubTenant:
    return NewSubTenant(
        parent_id,
        moniker.upper(),
        moniker,
        [SubscriptionType.INTEGRATED],
        inherit_sponsor_operators=True,
        tenant_tariff_id=tariff_id,
    )


async def build_feed_tree(db: Database) -> None:
    """The tree, through the product's services."""
    async with db.write() as session:
        boot = await bootstrap_platform(
            session, name="P", moniker="platform", currency="EUR", admin_email="a@b.c"
        )
        actor = Principal(boot.admin.id, boot.root.id, Role.ADMIN, is_platform=True, token_id=0)
        operator = await operators.create_operator(session, actor, "Op")
        retail = await tariffs.create_tariff(session, actor, NewTariff(boot.root.id, "R", RATES))
    level, count = [boot.root.id], 0
    for depth, width in enumerate((RESELLERS, SUBS, LEAVES), start=1):
        below = []
        for parent_id in level:
            async with db.write() as session:
                tariff = await tariffs.create_tariff(
                    session, actor, NewTariff(parent_id, f"T{parent_id}", RATES)
                )
                for i in range(width):
                    moniker = f"t{depth}-{parent_id}-{i}"
                    child = await tenants.create_sub_tenant(
                        session, actor, _sub(parent_id, moniker, tariff.id)
                    )
                    below.append(child.id)
        count += len(below)
        level = below
    rng = random.Random(7)
    endpoint_ids: list[int] = []
    for start in range(0, CUSTOMERS, 500):
        async with db.write() as session:
            for c in range(start, start + 500):
                customer = await customers.create_customer(
                    session,
                    actor,
                    NewCustomer(rng.choice(level), f"C{c}", SubscriptionType.INTEGRATED, retail.id),
                )
                for e in range(ENDPOINTS_PER_CUSTOMER):
                    endpoint = await customers.create_endpoint(
                        session,
                        actor,
                        NewEndpoint(customer.id, f"E{e}", f"89{c:08d}{e:09d}", operator.id),
                    )
                    endpoint_ids.append(endpoint.id)


async def tree_database(name: str, rebuild: bool) -> tuple[str, str, list[int], int]:
    """A fresh copy of the tree (built once, in about ten minutes, then kept as a template
    database): its URL, a platform admin's token, the endpoint ids, the number of tenants."""
    tree = f"{name}_tree"
    if rebuild or not await database_exists(tree):
        started = time.perf_counter()
        db = Database.connect(await fresh_database(f"{tree}_building"), pool_size=2)
        try:
            await build_feed_tree(db)
        finally:
            await db.dispose()
        await rename_database(f"{tree}_building", tree)
        print(f"tree built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    url = await fresh_database(name, template=tree)
    db = Database.connect(url, pool_size=2)
    try:
        async with db.write() as session:
            root, admin_id = (
                await session.execute(
                    sa.text(
                        "SELECT t.id, u.id FROM tenants t JOIN users u ON u.tenant_id = t.id "
                        "WHERE t.parent_id IS NULL ORDER BY u.id LIMIT 1"
                    )
                )
            ).one()
            admin = Principal(admin_id, root, Role.ADMIN, is_platform=True, token_id=0)
            _, token = await auth.create_api_token(session, admin, NewApiToken(admin_id, "bench"))
            endpoint_ids = list(
                await session.scalars(sa.text("SELECT id FROM endpoints ORDER BY id"))
            )
            tenants_below = await session.scalar(
                sa.text("SELECT count(*) FROM tenants WHERE parent_id IS NOT NULL")
            )
    finally:
        await db.dispose()
    return url, token, endpoint_ids, int(tenants_below or 0)


def make_feed(
    count: int, endpoint_ids: list[int], prefix: str, end: datetime
) -> list[dict[str, Any]]:
    """``count`` records in time order up to ``end``, each from a random endpoint."""
    rng = random.Random(42)
    start = end - timedelta(seconds=count)
    kinds = [k.value for k in UsageKind]
    return [
        {
            "eventId": f"{prefix}-{i}",
            "endpointId": rng.choice(endpoint_ids),
            "kind": kinds[i % 3],
            "quantity": str(Decimal(rng.randint(1, 5_000_000)) / Decimal(1000)),
            "occurredAt": (start + timedelta(seconds=i)).isoformat(),
        }
        for i in range(count)
    ]


PLAIN_TABLE = """
CREATE TABLE usage_records_plain (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL, customer_id bigint NOT NULL, endpoint_id bigint NOT NULL,
    kind varchar NOT NULL, quantity numeric(24, 6) NOT NULL, depth smallint NOT NULL,
    charges numeric(24, 6)[] NOT NULL, occurred_at timestamptz NOT NULL,
    event_id varchar(200) NOT NULL UNIQUE, ingested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON usage_records_plain (tenant_id, occurred_at);
CREATE INDEX ON usage_records_plain (endpoint_id, occurred_at);
CREATE INDEX ON usage_records_plain (customer_id, occurred_at);
"""
PLAIN_INSERT = """
INSERT INTO usage_records_plain
    (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges, occurred_at, event_id)
SELECT t, c, e, k, q, 3, ARRAY[q, q, q, q], o, ev FROM unnest(
    $1::bigint[], $2::bigint[], $3::bigint[], $4::varchar[], $5::numeric[],
    $6::timestamptz[], $7::varchar[]) AS u(t, c, e, k, q, o, ev)
"""


async def plain_insert(url: str, feed: list[dict[str, Any]], batch: int) -> float:
    """The baseline: the same rows, one multi-row INSERT per batch, nothing else."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(PLAIN_TABLE)
        owners = {
            row["id"]: (row["tenant_id"], row["customer_id"])
            for row in await connection.fetch("SELECT id, tenant_id, customer_id FROM endpoints")
        }
        started = time.perf_counter()
        for i in range(0, len(feed), batch):
            rows = feed[i : i + batch]
            async with connection.transaction():
                await connection.execute(
                    PLAIN_INSERT,
                    [owners[r["endpointId"]][0] for r in rows],
                    [owners[r["endpointId"]][1] for r in rows],
                    [r["endpointId"] for r in rows],
                    [r["kind"] for r in rows],
                    [Decimal(r["quantity"]) for r in rows],
                    [datetime.fromisoformat(r["occurredAt"]) for r in rows],
                    [r["eventId"] for r in rows],
                )
        return time.perf_counter() - started
    finally:
        await connection.close()


async def over_http(
    http: httpx.AsyncClient, token: str, feed: list[dict[str, Any]], batch: int
) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [
        json.dumps(
            {
                "query": RECORD,
                "variables": {
                    "r": [
                        {**r, "endpointId": str(relay.GlobalID("Endpoint", str(r["endpointId"])))}
                        for r in feed[i : i + batch]
                    ]
                },
            }
        ).encode()
        for i in range(0, len(feed), batch)
    ]
    started = time.perf_counter()
    for content, i in zip(bodies, range(0, len(feed), batch), strict=True):
        response = await http.post("/graphql", content=content, headers=headers)
        answer = response.json()
        assert "errors" not in answer, response.text[:2000]
        payload = answer["data"]["recordUsage"]
        assert payload["accepted"] == len(feed[i : i + batch]), payload
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the server")
    parser.add_argument("--rebuild", action="store_true", help="build the tree anew")
    parser.add_argument("--database", default=DATABASE, help="the run's database name")
    args = parser.parse_args()

    url, token, endpoint_ids, tenant_count = await tree_database(args.database, args.rebuild)
    count = args.batches * args.batch
    end = datetime.now(UTC).replace(microsecond=0)
    plain_seconds = await plain_insert(
        url, make_feed(count, endpoint_ids, "plain", end), args.batch
    )
    feed = make_feed(count, endpoint_ids, "rated", end)
    touched = [len({r["endpointId"] for r in feed[i : i + args.batch]}) for i in (0,)]

    port = _free_port()
    profile = Path(tempfile.gettempdir()) / "ingest_usage.prof"
    server = start_server(url, port, profile=profile if args.profile else None)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
            await wait_ready(http, server)
            rated_seconds = await over_http(http, token, feed, args.batch)
    finally:
        server.terminate()
        server.wait(60)
    connection = await asyncpg.connect(url)
    try:
        accounts = await connection.fetchval(
            "SELECT count(DISTINCT account_id) FROM postings p "
            "JOIN ledger_transactions t ON t.id = p.transaction_id WHERE t.kind = 'USAGE_CHARGE'"
        )
    finally:
        await connection.close()
    plain_rate, rated_rate = count / plain_seconds, count / rated_seconds
    print(
        f"records: {count} in batches of {args.batch}, time-ordered; {tenant_count} tenants, "
        f"{len(endpoint_ids)} endpoints ({touched[0]} in the first batch), "
        f"{accounts} accounts posted to"
    )
    print(f"plain bulk insert:        {plain_rate:10.0f} records/s ({plain_seconds:.2f} s)")
    print(f"recordUsage over HTTP:    {rated_rate:10.0f} records/s ({rated_seconds:.2f} s)")
    print(f"ratio (rated/plain): {rated_rate / plain_rate:.2f}  (aim >= 0.4)")
    if args.profile:
        import pstats

        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    asyncio.run(main())

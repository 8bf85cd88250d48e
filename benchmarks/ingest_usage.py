"""Ingest and rate 200,000 usage records for endpoints four levels deep.

Prints records per second for `record_usage` (validation, idempotent insert, rating at
every level, one ledger transfer per batch) and for a plain bulk insert of the same rows
into a copy of the usage table, measured in the same run, and their ratio. Aim: >= 0.25.

    .venv/bin/python -m benchmarks.ingest_usage [--records 200000] [--batch 10000]
"""

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from benchmarks.common import fresh_database
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import bootstrap_platform
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
from tenantry.usage import repository as usage_repo
from tenantry.usage import service as usage
from tenantry.usage.models import UsageRecord
from tenantry.usage.service import NewUsageRecord

RATES = [
    NewRate(UsageKind.DATA, Decimal("0.01")),
    NewRate(UsageKind.SMS, Decimal("0.0004")),
    NewRate(UsageKind.VOICE, Decimal("0.02"), increment=Decimal(1), minimum=Decimal(60)),
]


async def build_tree(db: Database, endpoints: int) -> tuple[Principal, list[int]]:
    """root -> l1 -> l2 -> l3 -> l4, each level paying its parent; customers under l4."""
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


def make_records(count: int, endpoint_ids: list[int], prefix: str) -> list[NewUsageRecord]:
    rng = random.Random(42)
    # Ending now: usage may not be dated in the future (usage/service.py).
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=count * 7)
    kinds = list(UsageKind)
    return [
        NewUsageRecord(
            event_id=f"{prefix}-{i}",
            endpoint_id=rng.choice(endpoint_ids),
            kind=kinds[i % 3],
            quantity=Decimal(rng.randint(1, 5_000_000)) / Decimal(1000),
            occurred_at=start + timedelta(seconds=i * 7),
        )
        for i in range(count)
    ]


async def plain_insert(db: Database, records: list[NewUsageRecord], batch: int) -> float:
    """The baseline: the same rows, bulk-inserted into a copy of the table, nothing else."""
    async with db.write() as session:
        await session.execute(
            sa.text("CREATE TABLE usage_records_plain (LIKE usage_records INCLUDING ALL)")
        )
        targets = await usage_repo.rating_targets(session, list({r.endpoint_id for r in records}))
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        rows = [
            UsageRecord(
                tenant_id=targets[r.endpoint_id].tenant_id,
                customer_id=targets[r.endpoint_id].customer_id,
                endpoint_id=r.endpoint_id,
                kind=r.kind,
                quantity=r.quantity,
                # The same shape as a rated row: the depth and one charge per level.
                depth=4,
                charges=[r.quantity] * 5,
                occurred_at=r.occurred_at,
                event_id=r.event_id,
            )
            for r in records[i : i + batch]
        ]
        async with db.write() as session:
            await usage_repo.insert_records_into(session, rows, "usage_records_plain")
    return time.perf_counter() - started


async def rated_ingest(
    db: Database, actor: Principal, records: list[NewUsageRecord], batch: int
) -> float:
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        async with db.write() as session:
            result = await usage.record_usage(session, actor, records[i : i + batch])
            assert result.accepted == len(records[i : i + batch])
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=1_000)
    args = parser.parse_args()

    db = Database.connect(await fresh_database("tenantry_bench_ingest"), pool_size=4)
    try:
        actor, endpoint_ids = await build_tree(db, args.endpoints)
        plain_seconds = await plain_insert(
            db, make_records(args.records, endpoint_ids, "plain"), args.batch
        )
        rated_seconds = await rated_ingest(
            db, actor, make_records(args.records, endpoint_ids, "rated"), args.batch
        )
        async with db.read() as session:
            charges = await session.scalar(
                sa.text("SELECT sum(cardinality(charges)) FROM usage_records")
            )
    finally:
        await db.dispose()
    plain_rate, rated_rate = args.records / plain_seconds, args.records / rated_seconds
    print(
        f"records: {args.records}, batch: {args.batch}, endpoints 4 levels deep, "
        f"level charges kept: {charges}"
    )
    print(f"plain bulk insert:  {plain_rate:10.0f} records/s ({plain_seconds:.2f} s)")
    print(f"record_usage:       {rated_rate:10.0f} records/s ({rated_seconds:.2f} s)")
    print(f"ratio (rated/plain): {rated_rate / plain_rate:.2f}  (aim >= 0.25)")


if __name__ == "__main__":
    asyncio.run(main())

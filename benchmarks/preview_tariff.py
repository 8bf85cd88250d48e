"""Preview a tariff change over a year of a 1,000-customer tenant's usage.

Builds, through the product's services, a reseller with 1,000 customers (two endpoints
each) paying one tariff, revised mid-year (so the year is priced by two versions), then
fills a year of usage with SQL (600,000 records by default: DATA in MB with three decimal
places, SMS, VOICE in seconds). Measures ``preview_tariff`` (the service behind
``previewTariff``, as the reseller's admin, through the scope helper) and, in the same run,
the baseline: a plain SQL aggregate (quantity and count per customer and kind) over the
same records. Aim: the preview under 1 s.

    .venv/bin/python -m benchmarks.preview_tariff [--records 600000] [--runs 5]
        [--database tenantry_bench_preview] [--reuse]

``--reuse`` keeps a database built by an earlier run (same name) instead of building anew.
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from benchmarks.common import database_exists, database_url, fresh_database
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import bootstrap_platform
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.preview import PreviewRequest, preview_tariff
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType
from tenantry.tenants.service import NewSubTenant
from tenantry.usage import repository as usage_repo

CUSTOMERS, ENDPOINTS_PER_CUSTOMER = 1_000, 2
YEAR = (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
RATES = [
    NewRate(UsageKind.DATA, Decimal("0.012"), Decimal("0.1")),
    NewRate(UsageKind.SMS, Decimal("0.0004")),
    NewRate(UsageKind.VOICE, Decimal("0.05"), Decimal(1), Decimal(60)),
]
PROPOSED = [
    NewRate(UsageKind.DATA, Decimal("0.01"), Decimal(1)),
    NewRate(UsageKind.SMS, Decimal("0.0005")),
    NewRate(UsageKind.VOICE, Decimal("0.06"), Decimal(60), Decimal(60)),
]

# A year of usage, spread over the endpoints: 60 % DATA (0.001 to 50 MB), 30 % SMS (one
# message), 10 % VOICE (1 s to 20 min).
FILL = sa.text(
    """
    INSERT INTO usage_records (tenant_id, customer_id, endpoint_id, kind, quantity, depth, charges,
                               occurred_at, event_id)
    SELECT e.tenant_id, e.customer_id, e.id,
           CASE WHEN g % 10 < 6 THEN 'DATA' WHEN g % 10 < 9 THEN 'SMS' ELSE 'VOICE' END,
           CASE WHEN g % 10 < 6 THEN 1 + (g::bigint * 7919 % 50000) / 1000.0
                WHEN g % 10 < 9 THEN 1 ELSE 1 + g::bigint * 104729 % 1200 END,
           1, ARRAY[0.01, 0.005],
           CAST(:start AS timestamptz) + (g::float / CAST(:n AS int))
             * (CAST(:end AS timestamptz) - CAST(:start AS timestamptz)),
           'u' || g
    FROM generate_series(1, CAST(:n AS int)) AS g
    JOIN endpoints e
      ON e.id = CAST(:first_endpoint AS bigint) + (g::bigint * 31) % CAST(:endpoints AS int)
    """
)
# The baseline: the plainest aggregate over the same records.
BASELINE = sa.text(
    """
    SELECT r.customer_id, r.kind, sum(r.quantity), count(*)
    FROM usage_records r JOIN customers c ON c.id = r.customer_id
    WHERE c.tariff_id = :tariff AND r.occurred_at >= :start AND r.occurred_at < :end
    GROUP BY r.customer_id, r.kind
    """
)


async def build(db: Database, records: int) -> tuple[Principal, int]:
    async with db.write() as session:
        boot = await bootstrap_platform(
            session, name="P", moniker="platform", currency="EUR", admin_email="a@b.c"
        )
        root = Principal(boot.admin.id, boot.root.id, Role.ADMIN, is_platform=True, token_id=0)
        operator = await operators.create_operator(session, root, "Op")
        reseller = await tenants.create_sub_tenant(
            session,
            root,
            NewSubTenant(boot.root.id, "Reseller", "reseller", [SubscriptionType.INTEGRATED], True),
        )
        tariff = await tariffs.create_tariff(session, root, NewTariff(reseller.id, "Retail", RATES))
        first_endpoint = None
        for c in range(CUSTOMERS):
            customer = await customers.create_customer(
                session,
                root,
                NewCustomer(reseller.id, f"C{c}", SubscriptionType.INTEGRATED, tariff.id),
            )
            for e in range(ENDPOINTS_PER_CUSTOMER):
                endpoint = await customers.create_endpoint(
                    session,
                    root,
                    NewEndpoint(customer.id, f"E{e}", f"89{c:08d}{e:09d}", operator.id),
                )
                first_endpoint = first_endpoint or endpoint.id
        # The tariff existed all year and was revised mid-year (revisions are made ahead of
        # time; here the history is written as it would stand a year later).
        await session.execute(
            sa.text("UPDATE tariff_versions SET effective_from = :at WHERE tariff_id = :t"),
            {"at": YEAR[0], "t": tariff.id},
        )
        version = await session.scalar(
            sa.text(
                "INSERT INTO tariff_versions (tariff_id, tenant_id, effective_from) "
                "VALUES (:t, :owner, '2026-06-01T00:00:00Z') RETURNING id"
            ),
            {"t": tariff.id, "owner": reseller.id},
        )
        await session.execute(
            sa.text(
                "INSERT INTO tariff_rates (version_id, kind, tariff_id, tenant_id, unit_price, "
                "increment, minimum) SELECT :v, kind, tariff_id, tenant_id, unit_price * 1.1, "
                "increment, minimum FROM tariff_rates WHERE tariff_id = :t"
            ),
            {"v": version, "t": tariff.id},
        )
        # Records are stored in monthly partitions: the months FILL writes first (the year's,
        # and December 2026 for its last record, at the year's end), as ingestion would.
        await usage_repo.ensure_partitions(
            session, [YEAR[0].replace(year=2026, month=m) for m in range(1, 13)] + [YEAR[0]]
        )
        await session.execute(
            FILL,
            {
                "n": records,
                "start": YEAR[0],
                "end": YEAR[1],
                "first_endpoint": first_endpoint,
                "endpoints": CUSTOMERS * ENDPOINTS_PER_CUSTOMER,
            },
        )
    async with db.engine.connect() as connection:
        await connection.execute(sa.text("ANALYZE"))
        await connection.commit()  # statistics are rolled back with the transaction
    admin = Principal(boot.admin.id, reseller.id, Role.ADMIN, is_platform=False, token_id=0)
    return admin, tariff.id


async def existing(db: Database) -> tuple[Principal, int, int] | None:
    """The reseller's admin, the tariff and the record count of an earlier run's database
    (None if that run did not finish building it)."""
    async with db.read() as session:
        row = (
            await session.execute(
                sa.text(
                    "SELECT u.id, t.id, r.id FROM users u, tenants t, tariffs r "
                    "WHERE u.email = 'a@b.c' AND t.moniker = 'reseller' AND r.tenant_id = t.id"
                )
            )
        ).one_or_none()
        records = await session.scalar(sa.text("SELECT count(*) FROM usage_records"))
    if row is None or not records:
        return None
    admin = Principal(row[0], row[1], Role.ADMIN, is_platform=False, token_id=0)
    return admin, row[2], records


async def timed(runs: int, work: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


async def main(records: int, runs: int, database: str, reuse: bool) -> None:
    db = None
    found = None
    if reuse and await database_exists(database):
        db = Database.connect(database_url(database), pool_size=2)
        found = await existing(db)
    if found is None:
        if db is not None:
            await db.dispose()
        db = Database.connect(await fresh_database(database), pool_size=2)
    try:
        if found is not None:
            admin, tariff_id, records = found
            print(f"reusing {database}: {records:,} records")
        else:
            started = time.perf_counter()
            admin, tariff_id = await build(db, records)
            print(
                f"built {CUSTOMERS} customers, {records:,} records in "
                f"{time.perf_counter() - started:.1f} s"
            )
        request = PreviewRequest(tariff_id, PROPOSED, YEAR[0], YEAR[1])

        async def preview() -> object:
            async with db.read() as session:
                return await preview_tariff(session, admin, request)

        async def baseline() -> object:
            async with db.read() as session:
                params = {"tariff": tariff_id, "start": YEAR[0], "end": YEAR[1]}
                return (await session.execute(BASELINE, params)).all()

        await preview()  # warm the cache and the prepared statements alike
        await baseline()
        seconds, result = await timed(runs, preview)
        base, _ = await timed(runs, baseline)
        print(f"previewTariff (service, {records:,} records, median of {runs}): {seconds:.3f} s")
        print(f"baseline: plain SQL aggregate over the same records:        {base:.3f} s")
        print(f"ratio: {seconds / base:.2f}")
        summary = result
        assert hasattr(summary, "lines")
        print(
            f"payers: {len(summary.lines)}; current {summary.current} EUR, "
            f"proposed {summary.proposed} EUR"
        )
    finally:
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="tenantry_bench_preview")
    parser.add_argument("--reuse", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.records, arguments.runs, arguments.database, arguments.reuse))

"""A small query's latency while a burst of the costliest allowed queries runs.

Starts `tenantry serve` (uvicorn, one process, no job worker) on 127.0.0.1 against a fresh
database filled through the product's services (300 tenants, 1,200 customers, 3,600
endpoints, usage rated on them), then measures the p99 of a small query at rest and again
while clients keep sending a nested tree query just under the query-cost budget, and
prints their ratio. Aim: <= 5.

    .venv/bin/python -m benchmarks.burst [--clients 8] [--seconds 20]
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import fresh_database
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import bootstrap_platform
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.settings import Settings
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType
from tenantry.tenants.service import NewSubTenant
from tenantry.usage import service as usage
from tenantry.usage.service import NewUsageRecord

RESELLERS, SUBS_PER_RESELLER, CUSTOMERS_PER_TENANT, ENDPOINTS_PER_CUSTOMER = 30, 9, 4, 3
USAGE_BATCHES, RECORDS_PER_BATCH = 3, 3_000
PERIOD = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}

SMALL = '{ tenant(moniker: "r7") { name account { balance { amount } } } }'
# What a partner integration fetching the whole tree would send, sized just under the budget.
COSTLY = """query($from: DateTime!, $to: DateTime!) {
  tenants(first: 100) { totalCount edges { node { moniker account { balance { amount } }
    customers(first: 20) { totalCount edges { node { name
      account { balance { amount } billingStatus
        transactions(first: 10) { edges { node { kind amount { amount } } } } }
      endpoints(first: 15) { edges { node { iccid
        usage(from: $from, to: $to) { totals { kind quantity cost { amount } } }
      } } } } } } } } } }"""


async def build_data(db: Database) -> str:
    """The tree, through the services; returns a platform-admin token."""
    rates = [NewRate(UsageKind.DATA, Decimal("0.01")), NewRate(UsageKind.SMS, Decimal("0.0004"))]
    endpoint_ids: list[int] = []
    async with db.write() as session:
        boot = await bootstrap_platform(
            session, name="P", moniker="platform", currency="EUR", admin_email="a@b.c"
        )
        actor = Principal(boot.admin.id, boot.root.id, Role.ADMIN, is_platform=True, token_id=0)
        operator = await operators.create_operator(session, actor, "Op")
        tariff = await tariffs.create_tariff(
            session, actor, NewTariff(boot.root.id, "Retail", rates)
        )
        tenant_ids = []
        for r in range(RESELLERS):
            reseller = await tenants.create_sub_tenant(session, actor, _sub(boot.root.id, f"r{r}"))
            tenant_ids.append(reseller.id)
            for s in range(SUBS_PER_RESELLER):
                sub = await tenants.create_sub_tenant(
                    session, actor, _sub(reseller.id, f"r{r}s{s}")
                )
                tenant_ids.append(sub.id)
        for t, tenant_id in enumerate(tenant_ids):
            for c in range(CUSTOMERS_PER_TENANT):
                customer = await customers.create_customer(
                    session,
                    actor,
                    NewCustomer(tenant_id, f"C{t}-{c}", SubscriptionType.INTEGRATED, tariff.id),
                )
                for e in range(ENDPOINTS_PER_CUSTOMER):
                    endpoint = await customers.create_endpoint(
                        session,
                        actor,
                        NewEndpoint(customer.id, f"E{e}", f"89{t:05d}{c:03d}{e:010d}", operator.id),
                    )
                    endpoint_ids.append(endpoint.id)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for b in range(USAGE_BATCHES):
        records = [
            NewUsageRecord(
                event_id=f"b{b}-{i}",
                endpoint_id=endpoint_ids[(i * 7919) % len(endpoint_ids)],
                kind=UsageKind.DATA if i % 2 else UsageKind.SMS,
                quantity=Decimal(1 + i % 500),
                occurred_at=start + timedelta(seconds=b * RECORDS_PER_BATCH + i),
            )
            for i in range(RECORDS_PER_BATCH)
        ]
        async with db.write() as session:
            await usage.record_usage(session, actor, records)
    assert boot.token is not None
    return boot.token


def _sub(parent_id: int, moniker: str) -> NewSubTenant:
    return NewSubTenant(parent_id, moniker.upper(), moniker, [SubscriptionType.INTEGRATED], True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, profile: Path | None = None) -> subprocess.Popen[bytes]:
    """``tenantry serve`` on 127.0.0.1:``port``; under cProfile, writing to ``profile`` when
    it stops, if given."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TENANTRY_PORT": str(port),
        "TENANTRY_HOST": "127.0.0.1",
        "TENANTRY_WORKER_IN_SERVER": "false",
        "TENANTRY_LOG_LEVEL": "warning",
        "TENANTRY_RATE_LIMIT_PER_MINUTE": "0",  # the burst is the point
    }
    if profile is not None:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "tenantry.cli"]
    else:
        command = [str(Path(sys.executable).parent / "tenantry")]
    return subprocess.Popen([*command, "serve"], env=env, stdout=subprocess.DEVNULL)


async def wait_ready(http: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("the server did not start")


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, "variables": variables})


async def probe(http: httpx.AsyncClient, samples: int, seconds: float) -> list[float]:
    """Latencies (ms) of the small query, one at a time with a short pause between, until
    ``samples`` are taken or ``seconds`` have passed."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while len(latencies) < samples and time.monotonic() < deadline:
        started = time.perf_counter()
        response = await post(http, SMALL, {})
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        await asyncio.sleep(0.02)
    return latencies


async def burst(http: httpx.AsyncClient, stop: asyncio.Event, outcomes: list[str]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        response = await post(http, COSTLY, PERIOD)
        body = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or ()]
        seconds = time.perf_counter() - started
        outcomes.append(f"{response.status_code} {','.join(map(str, codes)) or 'ok'} {seconds:.2f}")


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


async def measure(
    url: str, token: str, clients: int, samples: int, seconds: float
) -> tuple[dict[str, Any], list[float], list[float], list[str]]:
    """The costly query's answer, the small query's latencies at rest and under the burst,
    and the outcome of every costly request of the burst."""
    port = _free_port()
    server = start_server(url, port)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers=headers,
            timeout=60,
            limits=httpx.Limits(max_connections=clients + 4),
        ) as http:
            await wait_ready(http, server)
            answer = await post(http, COSTLY, PERIOD)
            costly: dict[str, Any] = answer.json()
            # Which read path answered it (compiled, or the resolver path).
            costly["path"] = answer.headers.get("X-Read-Path")
            assert "errors" not in costly, costly["errors"]
            await probe(http, 20, seconds)  # warm up
            at_rest = await probe(http, samples, seconds)

            stop, outcomes = asyncio.Event(), []
            tasks = [asyncio.create_task(burst(http, stop, outcomes)) for _ in range(clients)]
            await asyncio.sleep(1)  # let the burst build up
            under_burst = await probe(http, samples, seconds)
            stop.set()
            await asyncio.gather(*tasks)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return costly, at_rest, under_burst, outcomes


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=25, help="at most, per measurement")
    parser.add_argument("--database", default="tenantry_bench_burst", help="its name")
    args = parser.parse_args()

    url = await fresh_database(args.database)
    db = Database.connect(url, pool_size=2)
    try:
        started = time.perf_counter()
        token = await build_data(db)
        built = time.perf_counter() - started
        print(f"data built in {built:.0f} s", file=sys.stderr)
    finally:
        await db.dispose()
    costly, at_rest, under_burst, outcomes = await measure(
        url, token, args.clients, args.samples, args.seconds
    )

    cost = costly["extensions"]["cost"]
    tree = costly["data"]["tenants"]["edges"]
    rows = sum(
        1 + len(c["node"]["endpoints"]["edges"])
        for t in tree
        for c in t["node"]["customers"]["edges"]
    )
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        status = " ".join(outcome.split()[:2])
        statuses[status] = statuses.get(status, 0) + 1
    seconds = [float(o.split()[-1]) for o in outcomes]
    settings = Settings()
    print(
        f"data: {RESELLERS * (1 + SUBS_PER_RESELLER)} tenants, customers x{CUSTOMERS_PER_TENANT}, "
        f"endpoints x{ENDPOINTS_PER_CUSTOMER}, built in {built:.0f} s; "
        f"samples at rest {len(at_rest)}, under burst {len(under_burst)}"
    )
    print(
        f"costly query: cost {cost['requested']:,} of {cost['budget']:,}, "
        f"{len(tree)} tenants / {rows} customers+endpoints in its answer, "
        f"read path: {costly['path']}"
    )
    print(
        f"burst: {args.clients} clients, {len(outcomes)} costly answers {statuses}, "
        f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"
    )
    print(
        f"settings: statement timeout {settings.statement_timeout_ms} ms, "
        f"costly (>= {settings.costly_query_cost:,}) at once: {settings.costly_query_concurrency}"
    )
    rest, loaded = p99(at_rest), p99(under_burst)
    print(f"small query p99 at rest:     {rest:8.1f} ms (median {statistics.median(at_rest):.1f})")
    print(
        f"small query p99 under burst: {loaded:8.1f} ms "
        f"(median {statistics.median(under_burst):.1f})"
    )
    print(f"ratio (burst/rest): {loaded / rest:.1f}  (aim <= 5)")


if __name__ == "__main__":
    asyncio.run(main())

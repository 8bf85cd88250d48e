"""A small query's latency while a burst of the costliest allowed queries runs.

Starts `tenantry serve` (uvicorn, one process, no job worker) on 127.0.0.1 against a fresh
database filled through the product's services (300 tenants, 1,200 customers, 3,600
endpoints, usage rated on them), then measures the p99 of a small query at rest and again
while clients keep sending a nested tree query just under the query-cost budget, and
prints their ratio. Aim: <= 5.

The burst's clients run in a process of their own (as real clients would: their JSON
parsing must not delay the probe's own requests). Beside each HTTP request the probe sends
the same small read straight to PostgreSQL (one hand-written statement on its own
connection): its p99 under the burst against at rest is the floor, what the database and
the machine's two cores allow whatever the server does.

    .venv/bin/python -m benchmarks.burst [--clients 8] [--seconds 25] [--database NAME] [--reuse]
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa

from benchmarks.common import database_exists, database_url, fresh_database
from benchmarks.http_reads import PLAIN_SMALL
from tenantry.auth.models import Role, User
from tenantry.auth.principal import Principal
from tenantry.auth.service import NewApiToken, bootstrap_platform, create_api_token
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.settings import Settings
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType, Tenant
from tenantry.tenants.service import NewSubTenant
from tenantry.usage import service as usage
from tenantry.usage.service import NewUsageRecord

RESELLERS, SUBS_PER_RESELLER, CUSTOMERS_PER_TENANT, ENDPOINTS_PER_CUSTOMER = 30, 9, 4, 3
USAGE_BATCHES, RECORDS_PER_BATCH = 3, 3_000
PERIOD = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}

SMALL = '{ tenant(moniker: "r7") { name account { balance { amount } } } }'
# The same answer, straight from PostgreSQL: the floor.
SMALL_SQL = PLAIN_SMALL.replace("t.id = $1", "t.moniker = $1")
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


async def probe(
    http: httpx.AsyncClient, direct: asyncpg.Connection, samples: int, seconds: float
) -> tuple[list[float], list[float]]:
    """Latencies (ms) of the small query over HTTP and of its SQL straight to PostgreSQL,
    one after the other with a short pause between, until ``samples`` are taken or
    ``seconds`` have passed."""
    latencies: list[float] = []
    floor: list[float] = []
    deadline = time.monotonic() + seconds
    while len(latencies) < samples and time.monotonic() < deadline:
        started = time.perf_counter()
        response = await post(http, SMALL, {})
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        started = time.perf_counter()
        await direct.fetchval(SMALL_SQL, "r7")
        floor.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.02)
    return latencies, floor


async def burst(
    http: httpx.AsyncClient, stop: asyncio.Event, outcomes: list[str], running: asyncio.Event
) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await post(http, COSTLY, PERIOD)
        except httpx.TransportError as error:  # counted, not fatal: the outcome says it
            outcomes.append(f"{type(error).__name__} - {time.perf_counter() - started:.2f}")
            continue
        body = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or ()]
        seconds = time.perf_counter() - started
        outcomes.append(f"{response.status_code} {','.join(map(str, codes)) or 'ok'} {seconds:.2f}")
        if not running.is_set():
            running.set()
            print("running", flush=True)  # the probe starts now


async def run_burst(port: int, token: str, clients: int) -> None:
    """The burst's process: ``clients`` clients until SIGTERM, then their outcomes (JSON)."""
    stop, outcomes = asyncio.Event(), list[str]()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=clients),
    ) as http:
        running = asyncio.Event()
        await asyncio.gather(*(burst(http, stop, outcomes, running) for _ in range(clients)))
    print(json.dumps(outcomes))


def start_burst(port: int, token: str, clients: int) -> subprocess.Popen[bytes]:
    """The burst's process, once its first costly answer has come back."""
    command = [sys.executable, "-m", "benchmarks.burst", "--burst", str(port), "--token", token]
    process = subprocess.Popen([*command, "--clients", str(clients)], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"running\n"
    return process


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


@dataclass
class Measured:
    costly: dict[str, Any]  # the costly query's answer (and the read path that answered it)
    at_rest: list[float]  # the small query's latencies (ms) over HTTP, at rest
    under_burst: list[float]
    floor_at_rest: list[float]  # the same read straight to PostgreSQL
    floor_under_burst: list[float]
    outcomes: list[str]  # of every costly request of the burst


async def measure(url: str, token: str, clients: int, samples: int, seconds: float) -> Measured:
    port = _free_port()
    server = start_server(url, port)
    headers = {"Authorization": f"Bearer {token}"}
    direct = await asyncpg.connect(url, server_settings={"jit": "off"})
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
        ) as http:
            await wait_ready(http, server)
            answer = await post(http, COSTLY, PERIOD)
            costly: dict[str, Any] = answer.json()
            # Which read path answered it (compiled, or the resolver path).
            costly["path"] = answer.headers.get("X-Read-Path")
            assert "errors" not in costly, costly["errors"]
            await probe(http, direct, 20, seconds)  # warm up
            at_rest, floor_at_rest = await probe(http, direct, samples, seconds)

            clients_process = start_burst(port, token, clients)
            await asyncio.sleep(1)  # let every client of the burst send
            under_burst, floor_under_burst = await probe(http, direct, samples, seconds)
            clients_process.terminate()
            out, _ = clients_process.communicate(timeout=120)
            outcomes: list[str] = json.loads(out)
    finally:
        await direct.close()
        server.terminate()
        server.wait(timeout=30)
    return Measured(costly, at_rest, under_burst, floor_at_rest, floor_under_burst, outcomes)


async def reused(url: str) -> str | None:
    """A new token of the platform admin of the data built by an earlier run, if any."""
    db = Database.connect(url, pool_size=1)
    try:
        async with db.write() as session:
            root = await session.scalar(sa.select(Tenant).where(Tenant.parent_id.is_(None)))
            admin = await session.scalar(sa.select(User).where(User.email == "a@b.c"))
            if root is None or admin is None:
                return None
            actor = Principal(admin.id, root.id, Role.ADMIN, is_platform=True, token_id=0)
            _, token = await create_api_token(session, actor, NewApiToken(admin.id, "burst"))
            return token
    except Exception:
        return None
    finally:
        await db.dispose()


async def main(args: argparse.Namespace) -> None:
    url = database_url(args.database)
    token = await reused(url) if args.reuse and await database_exists(args.database) else None
    built = 0.0
    if token is None:
        url = await fresh_database(args.database)
        db = Database.connect(url, pool_size=2)
        try:
            started = time.perf_counter()
            token = await build_data(db)
            built = time.perf_counter() - started
            print(f"data built in {built:.0f} s", file=sys.stderr)
        finally:
            await db.dispose()
    m = await measure(url, token, args.clients, args.samples, args.seconds)

    cost = m.costly["extensions"]["cost"]
    tree = m.costly["data"]["tenants"]["edges"]
    rows = sum(
        1 + len(c["node"]["endpoints"]["edges"])
        for t in tree
        for c in t["node"]["customers"]["edges"]
    )
    statuses: dict[str, int] = {}
    for outcome in m.outcomes:
        status = " ".join(outcome.split()[:2])
        statuses[status] = statuses.get(status, 0) + 1
    seconds = [float(o.split()[-1]) for o in m.outcomes]
    settings = Settings()
    print(
        f"data: {RESELLERS * (1 + SUBS_PER_RESELLER)} tenants, customers x{CUSTOMERS_PER_TENANT}, "
        f"endpoints x{ENDPOINTS_PER_CUSTOMER}, built in {built:.0f} s; "
        f"samples at rest {len(m.at_rest)}, under burst {len(m.under_burst)}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"costly query: cost {cost['requested']:,} of {cost['budget']:,}, "
        f"{len(tree)} tenants / {rows} customers+endpoints in its answer, "
        f"read path: {m.costly['path']}"
    )
    print(
        f"burst: {args.clients} clients (own process), {len(m.outcomes)} costly answers "
        f"{statuses}, median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"
    )
    print(
        f"settings: statement timeout {settings.statement_timeout_ms} ms, "
        f"costly (>= {settings.costly_query_cost:,}) at once: {settings.costly_query_concurrency}"
    )
    for name, rest_ms, loaded_ms in (
        ("small query over HTTP", m.at_rest, m.under_burst),
        ("its SQL on PostgreSQL ", m.floor_at_rest, m.floor_under_burst),
    ):
        rest, loaded = p99(rest_ms), p99(loaded_ms)
        print(
            f"{name}: p99 at rest {rest:7.1f} ms (median {statistics.median(rest_ms):.1f}),"
            f" under burst {loaded:7.1f} ms (median {statistics.median(loaded_ms):.1f}),"
            f" ratio {loaded / rest:.1f}"
        )
    ratio = p99(m.under_burst) / p99(m.at_rest)
    print(f"ratio (burst/rest): {ratio:.1f}  (aim <= 5)")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=25, help="at most, per measurement")
    parser.add_argument("--database", default="tenantry_bench_burst", help="its name")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument("--burst", type=int, help=argparse.SUPPRESS)  # the clients' process
    parser.add_argument("--token", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    parsed = arguments()
    if parsed.burst:
        asyncio.run(run_burst(parsed.burst, parsed.token, parsed.clients))
    else:
        asyncio.run(main(parsed))

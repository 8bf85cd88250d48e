"""Reads over HTTP: the product against a plain Starlette + asyncpg endpoint, same data.

Builds a 3-level tree through the product's own services (``benchmarks.reads.build_tree``:
about 5,000 tenants, every account with a balance), gives one reseller an admin with an
API token, then serves, one after the other on this machine with one uvicorn worker each:
- the product (``create_app``, the app ``tenantry serve`` runs; no in-server job worker),
- a plain endpoint: Starlette, an asyncpg pool and one hand-written SQL statement per
  request that builds the same JSON (no GraphQL, no authentication: the floor).
A load generator in its own process keeps 32 keep-alive connections busy for N seconds and
reports requests per second and latency percentiles, for
- small: ``tenant(id) { name account { balance { amount } } }`` as the reseller's admin,
- subtree: that reseller's 101 tenants on 3 levels (10 children, 9 grandchildren each, as
  pages of a wider tree) with balances, as the reseller's admin.
The answers are checked equal (parsed JSON, the product's ``extensions`` aside) first.

    .venv/bin/python -m benchmarks.http_reads [--size 5000] [--seconds 10] [--rounds 3] [--reuse]
    [--profile server.prof]  # cProfile the product's process under load
"""

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from benchmarks.common import fresh_database
from benchmarks.reads import build_tree
from tenantry.auth import service as auth
from tenantry.auth.models import Role, User
from tenantry.auth.principal import Principal
from tenantry.auth.service import NewApiToken, NewUser
from tenantry.db.engine import Database
from tenantry.tenants.models import Tenant

DATABASE = "tenantry_bench_http"
CONNECTIONS = 32
PRODUCT_PORT, PLAIN_PORT = 8781, 8782
RESELLER_EMAIL = "reseller-admin@bench.io"

SMALL = "query($id: ID!) { tenant(id: $id) { name account { balance { amount } } } }"
_NODE = "id name moniker account { balance { amount currency } }"
SUBTREE = (
    "query($id: ID!) { tenant(id: $id) { "
    + _NODE
    + " subTenants(first: 10) { totalCount edges { node { "
    + _NODE
    + " subTenants(first: 9) { totalCount edges { node { "
    + _NODE
    + " } } } } } } } }"
)

# The plain endpoint's statements: what a person would write by hand for the same JSON.
_AMOUNT = """CASE WHEN round(a.balance, 2) = a.balance THEN round(a.balance, 2)::text
                  ELSE trim_scale(a.balance)::text END"""
PLAIN_SMALL = f"""SELECT json_build_object('tenant', (SELECT json_build_object('name', t.name,
  'account', (SELECT json_build_object('balance', json_build_object('amount', {_AMOUNT}))
    FROM accounts a WHERE a.tenant_id = t.id AND a.owner_kind = 'TENANT'))
  FROM tenants t WHERE t.id = $1))::text"""
_PLAIN_NODE = """'id', encode(convert_to('Tenant:' || {t}.id, 'UTF8'), 'base64'),
  'name', {t}.name, 'moniker', {t}.moniker,
  'account', (SELECT json_build_object('balance', json_build_object(
      'amount', {amount}, 'currency', a.currency))
    FROM accounts a WHERE a.tenant_id = {t}.id AND a.owner_kind = 'TENANT')"""


def _plain_node(t: str) -> str:
    return _PLAIN_NODE.format(t=t, amount=_AMOUNT)


def _plain_children(parent: str, t: str, limit: int, more: str) -> str:
    return f"""(SELECT json_build_object(
      'totalCount', (SELECT count(*) FROM tenants c WHERE c.parent_id = {parent}.id
                     AND c.kind = 'SUB_TENANT'),
      'edges', coalesce(json_agg(json_build_object('node', json_build_object(
          {_plain_node(t)}{more})) ORDER BY {t}.id), '[]'))
    FROM (SELECT * FROM tenants x WHERE x.parent_id = {parent}.id AND x.kind = 'SUB_TENANT'
          ORDER BY x.id LIMIT {limit}) {t})"""


PLAIN_SUBTREE = f"""SELECT json_build_object('tenant', (SELECT json_build_object(
  {_plain_node("r")}, 'subTenants', {
    _plain_children("r", "t1", 10, ", 'subTenants', " + _plain_children("t1", "t2", 9, ""))
})
  FROM tenants r WHERE r.id = $1))::text"""
PLAIN_STATEMENTS = {SMALL: PLAIN_SMALL, SUBTREE: PLAIN_SUBTREE}


# -- the plain endpoint (its own process) ---------------------------------------------------


def plain_app(url: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    pool: list[asyncpg.Pool] = []

    async def graphql(request: Request) -> Response:
        payload = orjson.loads(await request.body())
        tenant_id = int(base64.b64decode(payload["variables"]["id"]).split(b":")[1])
        async with pool[0].acquire() as connection:
            text: str = await connection.fetchval(PLAIN_STATEMENTS[payload["query"]], tenant_id)
        return Response(b'{"data":' + text.encode() + b"}", media_type="application/json")

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with asyncpg.create_pool(
            url, min_size=1, max_size=10, server_settings={"jit": "off"}
        ) as opened:
            pool.append(opened)
            yield

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


def serve(kind: str, url: str, port: int, profile: str | None) -> None:
    import uvicorn

    from tenantry.app import create_app
    from tenantry.settings import Settings

    # The rate limiter stays on (its upsert is part of a request's cost), with a limit the
    # load generator's one token never reaches.
    settings = Settings(
        database_url=url,
        worker_in_server=False,
        log_level="warning",
        rate_limit_per_minute=10**9,
    )
    app = create_app(settings, database_url=url) if kind == "product" else plain_app(url)
    config = uvicorn.Config(app, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if profile is None:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        return
    import cProfile

    profiler = cProfile.Profile()
    # Profiled between SIGUSR1 (the load has started) and shutdown.
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


# -- the load generator (its own process) ---------------------------------------------------


async def _one_connection(
    port: int, request: bytes, deadline: float, warm_until: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (started := time.perf_counter()) < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"HTTP {status.decode()}: {body[:300]!r}")
            if started >= warm_until:
                latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def load(port: int, body: bytes, token: str, seconds: float, warm: float) -> dict[str, Any]:
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    latencies: list[float] = []
    now = time.perf_counter()
    await asyncio.gather(
        *(
            _one_connection(port, request, now + warm + seconds, now + warm, latencies)
            for _ in range(CONNECTIONS)
        )
    )
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "n": len(latencies),
    }


# -- the driver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    url: str
    token: str
    reseller_id: int
    leaf_id: int
    tenants: int


def gid(tenant_id: int) -> str:
    return base64.b64encode(f"Tenant:{tenant_id}".encode()).decode()


async def prepare(size: int, reuse: bool, name: str) -> Data:
    server = os.environ["DATABASE_URL"]
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    db = Database.connect(url, pool_size=2) if reuse else None
    try:
        if db is not None:
            async with db.read() as session:
                count = await session.scalar(sa.select(sa.func.count()).select_from(Tenant))
        else:
            count = None
    except Exception:
        count = None
    if not count or db is None:
        if db is not None:
            await db.dispose()
        url = await fresh_database(name)
        db = Database.connect(url, pool_size=2)
        print(f"building about {size} tenants through the product's services ...", flush=True)
        await build_tree(db, size)
    try:
        async with db.write() as session:
            root = await session.scalar(sa.select(Tenant).where(Tenant.parent_id.is_(None)))
            assert root is not None
            admin = await session.scalar(
                sa.select(User).where(User.tenant_id == root.id).order_by(User.id)
            )
            assert admin is not None
            platform = Principal(admin.id, root.id, Role.ADMIN, is_platform=True, token_id=0)
            reseller = await session.scalar(
                sa.select(Tenant).where(Tenant.parent_id == root.id).order_by(Tenant.id)
            )
            assert reseller is not None
            user = await session.scalar(sa.select(User).where(User.email == RESELLER_EMAIL))
            if user is None:
                new = NewUser(reseller.id, RESELLER_EMAIL, "Reseller admin", Role.ADMIN)
                user = await auth.create_user(session, platform, new)
            _, token = await auth.create_api_token(
                session, platform, NewApiToken(user.id, "http benchmark")
            )
            child = await session.scalar(
                sa.select(Tenant.id).where(Tenant.parent_id == reseller.id).order_by(Tenant.id)
            )
            leaf = await session.scalar(
                sa.select(Tenant.id).where(Tenant.parent_id == child).order_by(Tenant.id.desc())
            )
            total = await session.scalar(sa.select(sa.func.count()).select_from(Tenant))
        assert leaf is not None and total is not None
        return Data(url, token, reseller.id, leaf, total)
    finally:
        await db.dispose()


def _start(kind: str, url: str, port: int, profile: str | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "benchmarks.http_reads", "--serve", kind, "--url", url]
    command += ["--port", str(port)] + (["--profile-to", profile] if profile else [])
    return subprocess.Popen(command)


async def _ready(port: int) -> None:
    for _ in range(1200):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            writer.close()
            if b" 200 " in head.split(b"\r\n")[0]:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no server on port {port}")


async def _answer(port: int, body: bytes, token: str) -> tuple[dict[str, Any], dict[str, str]]:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await client.post(
            "/graphql",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    answer = response.json()
    answer.pop("extensions", None)
    return answer, dict(response.headers)


def _measure(port: int, body: bytes, token: str, seconds: float) -> dict[str, Any]:
    """The load generator in its own process, so that it does not share the server's core."""
    command = [sys.executable, "-m", "benchmarks.http_reads", "--load", str(port)]
    command += ["--seconds", str(seconds), "--token", token]
    done = subprocess.run(command, input=body, capture_output=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def run(args: argparse.Namespace) -> None:
    data = await prepare(args.size, args.reuse, args.database)
    cases = {
        "small": (SMALL, data.leaf_id),
        "subtree": (SUBTREE, data.reseller_id),
    }
    bodies = {
        name: orjson.dumps({"query": query, "variables": {"id": gid(tenant_id)}})
        for name, (query, tenant_id) in cases.items()
    }
    print(
        f"-- {data.tenants} tenants; token of the admin of reseller {data.reseller_id};"
        f" {CONNECTIONS} connections, {args.seconds:g} s per run, 1 uvicorn worker each"
    )
    servers = {"plain": PLAIN_PORT, "product": PRODUCT_PORT}
    processes = [
        _start(kind, data.url, port, args.profile if kind == "product" else None)
        for kind, port in servers.items()
    ]
    try:
        for port in servers.values():
            await _ready(port)
        for name, body in bodies.items():
            plain, _ = await _answer(PLAIN_PORT, body, data.token)
            assert "errors" not in plain, plain
            # Twice: the first request takes the normal path, the next ones the fast path.
            for _ in range(2):
                answer, headers = await _answer(PRODUCT_PORT, body, data.token)
                assert answer == plain, f"{name}: the answers differ"
            print(f"   {name}: answers equal; product's read path: {headers.get('x-read-path')}")
        if args.profile:
            processes[1].send_signal(signal.SIGUSR1)
        # Round after round, each case on the plain endpoint and then on the product: a
        # ratio compares runs a few seconds apart, whatever else the machine is doing.
        ratios: dict[str, list[tuple[float, float]]] = {name: [] for name in bodies}
        for round_ in range(1, args.rounds + 1):
            for name, body in bodies.items():
                plain_run = _measure(PLAIN_PORT, body, data.token, args.seconds)
                product_run = _measure(PRODUCT_PORT, body, data.token, args.seconds)
                ratios[name].append(
                    (product_run["rps"] / plain_run["rps"], product_run["p99"] / plain_run["p99"])
                )
                print(
                    f"  round {round_} {name:<8} plain {plain_run['rps']:5.0f} req/s"
                    f" p50 {plain_run['p50']:6.1f} ms p99 {plain_run['p99']:6.1f} ms"
                    f" | product {product_run['rps']:5.0f} req/s"
                    f" p50 {product_run['p50']:6.1f} ms p99 {product_run['p99']:6.1f} ms"
                    f" | req/s ratio {ratios[name][-1][0]:.2f}  p99 ratio {ratios[name][-1][1]:.2f}"
                )
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=60)
    for name, pairs in ratios.items():
        speed = statistics.median(p[0] for p in pairs)
        tail = statistics.median(p[1] for p in pairs)
        print(
            f"  {name:<8} median of {len(pairs)} rounds: req/s {speed:.2f}x plain"
            f" (goal >= 0.5, aim 0.7), p99 {tail:.2f}x plain (goal <= 2)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs per case")
    parser.add_argument("--reuse", action="store_true", help="keep a database built before")
    parser.add_argument("--database", default=DATABASE, help="the benchmark database's name")
    parser.add_argument("--profile", help="cProfile the product's process to this file")
    parser.add_argument("--serve", choices=["product", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.url, args.port, args.profile_to)
    elif args.load:
        body = sys.stdin.buffer.read()
        result = asyncio.run(load(args.load, body, args.token, args.seconds, warm=1.0))
        print(json.dumps(result))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()

"""What the rate limit costs a small request: `{ viewer { role } }` with the limiter off and
on (one upsert per request), interleaved in the same run, in-process over ASGI.

    DATABASE_URL=postgresql://... python benchmarks/rate_limit.py
"""

import argparse
import asyncio
import statistics
import time

import httpx

from benchmarks.common import fresh_database
from tenantry.app import create_app
from tenantry.auth import service as auth
from tenantry.db.engine import Database
from tenantry.settings import Settings

QUERY = {"query": "{ viewer { role } }"}


async def admin_token(db: Database) -> str:
    async with db.write() as session:
        boot = await auth.bootstrap_platform(
            session, name="P", moniker="platform", currency="EUR", admin_email="a@b.c"
        )
    assert boot.token is not None
    return boot.token


async def median_ms(http: httpx.AsyncClient, token: str, requests: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await http.post("/graphql", json=QUERY, headers=headers)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return statistics.median(seconds) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    url = await fresh_database("tenantry_bench_rate_limit")
    db = Database.connect(url, pool_size=4)
    try:
        token = await admin_token(db)
        clients = {}
        for name, per_minute in (("on", 10**9), ("off", 0)):
            settings = Settings(database_url=url, rate_limit_per_minute=per_minute)
            transport = httpx.ASGITransport(app=create_app(settings, db=db))
            clients[name] = httpx.AsyncClient(transport=transport, base_url="http://bench")
        timings: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for name, http in clients.items():
                timings[name].append(await median_ms(http, token, args.requests))
        for http in clients.values():
            await http.aclose()
    finally:
        await db.dispose()
    off, on = min(timings["off"]), min(timings["on"])
    print(f"{{ viewer {{ role }} }}, median per request, best of {args.rounds} rounds:")
    print(f"  rate limit off: {off:6.2f} ms")
    print(f"  rate limit on:  {on:6.2f} ms  (+{on - off:.2f} ms, ratio {on / off:.2f})")


if __name__ == "__main__":
    asyncio.run(main())

"""How long a caller without the role waits for FORBIDDEN on a large usage batch.

A viewer POSTs `recordUsage` with as many records as fit under the body cap, and with one
record. Both are refused; the large one should cost little more than reading its body, not
seconds of coercion while the event loop serves nobody else. Prints both times and their
ratio. Aim: <= 5 (over 300 when the role was checked after coercion: 4.3 s).

    .venv/bin/python -m benchmarks.refusal [--records 29000] [--rounds 5]
"""

import argparse
import asyncio
import json
import time

import httpx

from benchmarks.common import fresh_database
from tenantry.app import create_app
from tenantry.auth import service as auth
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import NewApiToken, NewUser
from tenantry.db.engine import Database
from tenantry.settings import Settings

RECORD = """mutation($r: [UsageRecordInput!]!) { recordUsage(input: {records: $r}) {
  accepted userErrors { code } } }"""


async def viewer_token(db: Database) -> str:
    async with db.write() as session:
        boot = await auth.bootstrap_platform(
            session, name="P", moniker="platform", currency="EUR", admin_email="a@b.c"
        )
        admin = Principal(boot.admin.id, boot.root.id, Role.ADMIN, is_platform=True, token_id=0)
        user = await auth.create_user(
            session, admin, NewUser(boot.root.id, "viewer@b.c", "Viewer", Role.VIEWER)
        )
        _, token = await auth.create_api_token(session, admin, NewApiToken(user.id, "bench"))
    return token


def body(records: int) -> bytes:
    record = {
        "eventId": "event-000000",
        "endpointId": "RW5kcG9pbnQ6MQ==",
        "kind": "DATA",
        "quantity": "1.5",
        "occurredAt": "2026-11-15T12:00:00+00:00",
    }
    return json.dumps({"query": RECORD, "variables": {"r": [record] * records}}).encode()


async def refusal_seconds(
    http: httpx.AsyncClient, token: str, content: bytes, rounds: int
) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        response = await http.post("/graphql", content=content, headers=headers)
        best = min(best, time.perf_counter() - started)
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", response.text
    return best


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=29_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    url = await fresh_database("tenantry_bench_refusal")
    db = Database.connect(url, pool_size=4)
    settings = Settings(
        database_url=url, rate_limit_per_minute=0, rate_limit_anonymous_per_minute=0
    )
    try:
        token = await viewer_token(db)
        app = create_app(settings, db=db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            large = body(args.records)
            assert len(large) <= settings.max_body_bytes, "more records than the body cap allows"
            one = await refusal_seconds(http, token, body(1), args.rounds)
            many = await refusal_seconds(http, token, large, args.rounds)
    finally:
        await db.dispose()
    print(f"viewer's recordUsage refused, best of {args.rounds}:")
    print(f"  1 record:{'':16} {one * 1000:8.1f} ms")
    print(f"  {args.records} records ({len(large) / 1e6:.1f} MB): {many * 1000:8.1f} ms")
    print(f"ratio (large/one): {many / one:.1f}  (aim <= 5)")


if __name__ == "__main__":
    asyncio.run(main())

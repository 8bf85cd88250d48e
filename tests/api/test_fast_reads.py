"""The fast path (api/fast_reads.py) answers a read document the compiled path has answered
before, without Strawberry: with the same bytes as the normal path, and never where the
normal path would refuse or answer otherwise."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import procrastinate
import pytest
import sqlalchemy as sa

from tenantry.api.compiler.executor import Statement
from tenantry.api.compiler.extension import PATH_HEADER
from tenantry.api.fast_reads import FAST_READS
from tenantry.api.fast_statement import Found, Read, authenticate_and_read
from tenantry.app import create_app
from tenantry.auth.models import ApiToken, User
from tenantry.auth.tokens import token_digest
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tests.fixtures.world import World
from tests.ids import gid

TENANT = "query($id: ID!) { tenant(id: $id) { name account { balance { amount } } } }"
TENANTS = "query($n: Int!) { tenants(first: $n) { totalCount edges { node { name } } } }"
TREE = (
    "query($n: Int!) { viewer { tenant { subTenants(first: $n) { edges { node { name "
    "subTenants(first: $n) { totalCount edges { node { moniker } } } } } } } } }"
)
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
SETTINGS = {"max_query_cost": 500, "costly_query_cost": 300, "max_input_list_length": 5}
# TREE with n = 17 costs 340: within the budget, and costly (the gate).
COSTLY = {"n": 17}

Post = Callable[..., Any]


@asynccontextmanager
async def client(
    db: Database, database_url: str, jobs: procrastinate.App, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh application: its fast path knows no document yet."""
    app = create_app(
        Settings(database_url=database_url, **{**SETTINGS, **settings}), db=db, jobs=jobs
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> httpx.Response:
    return await send(http, query, variables, None if token is None else f"Bearer {token}")


async def send(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], authorization: str | None
) -> httpx.Response:
    headers = {"X-Request-Id": "req-1"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def answered(response: httpx.Response) -> tuple[int, bytes, dict[str, str | None]]:
    """Everything a client sees of an answer."""
    names = ("content-type", "content-length", "x-request-id", PATH_HEADER.lower())
    headers = {name: response.headers.get(name) for name in names}
    return response.status_code, response.content, headers


async def test_a_repeated_read_takes_the_fast_path_with_the_same_bytes(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    variables = {"id": gid("Tenant", world.a1x.id)}
    async with client(db, database_url, jobs) as http:
        before = FAST_READS["answered"]
        first = await post(http, TENANT, variables, world.a1_admin.token)
        assert FAST_READS["answered"] == before  # the normal path: it earns the verdict
        second = await post(http, TENANT, variables, world.a1_admin.token)
        assert FAST_READS["answered"] == before + 1
        # Other values of the variables: the same document, planned again, fast too.
        other = await post(http, TENANT, {"id": gid("Tenant", world.a1.id)}, world.a1_admin.token)
        assert FAST_READS["answered"] == before + 2
    assert answered(second) == answered(first)
    assert first.headers[PATH_HEADER] == "compiled"
    assert first.json()["data"] == {
        "tenant": {"name": world.a1x.name, "account": {"balance": {"amount": "0.00"}}}
    }
    assert first.json()["extensions"]["cost"]["budget"] == 500
    assert other.json()["data"]["tenant"]["name"] == world.a1.name


async def test_each_caller_gets_its_own_answer(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """A document known from one caller is answered for another within that one's scope:
    the fast path keeps no caller's answer or scope."""
    variables = {"n": 10}
    callers = [world.root_admin, world.a1_admin, world.a1_viewer, world.b1_admin]
    async with client(db, database_url, jobs) as http:
        await post(http, TREE, variables, world.a2_admin.token)
        before = FAST_READS["answered"]
        fast = [await post(http, TREE, variables, c.token) for c in callers]
        assert FAST_READS["answered"] == before + len(callers)
    for caller, response in zip(callers, fast, strict=True):
        async with client(db, database_url, jobs) as fresh:
            normal = await post(fresh, TREE, variables, caller.token)
        assert answered(response) == answered(normal)
    names = [r.json()["data"]["viewer"]["tenant"]["subTenants"]["edges"] for r in fast]
    assert names[1] == [
        {"node": {"name": world.a1x.name, "subTenants": {"totalCount": 0, "edges": []}}}
    ]
    assert names[3] == []  # b1 has no sub-tenants: nothing of a's tree


def _bearer(world: World) -> str:
    return f"Bearer {world.a1_admin.token}"


# (case, document, variables, Authorization header, the normal path's answer: an error
# code, or "data").
REFUSALS: list[tuple[str, str, dict[str, Any], Callable[[World], str | None], str | None]] = [
    ("no token", TENANT, {"id": "VGVuYW50OjE="}, lambda w: None, "UNAUTHENTICATED"),
    ("bad token", TENANT, {"id": "VGVuYW50OjE="}, lambda w: "Bearer nope", "UNAUTHENTICATED"),
    (
        "not Bearer",
        TENANT,
        {"id": "VGVuYW50OjE="},
        lambda w: f"Basic {w.a1_admin.token}",
        "UNAUTHENTICATED",
    ),
    ("over the cost budget", TREE, {"n": 30}, _bearer, "QUERY_TOO_COSTLY"),
    ("bad variable", TENANTS, {"n": "ten"}, _bearer, "BAD_USER_INPUT"),
    ("missing variable", TENANTS, {}, _bearer, "BAD_USER_INPUT"),
    ("argument the resolver refuses", TENANTS, {"n": 101}, _bearer, "BAD_USER_INPUT"),
    ("NUL in text", TENANT, {"id": "VGVu\x00YW50OjE="}, _bearer, "BAD_USER_INPUT"),
    ("list too long", NODES, {"ids": ["VGVuYW50OjE="] * 6}, _bearer, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(
    ("query", "variables", "authorization", "expected"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
async def test_what_the_normal_path_answers_otherwise_is_not_answered_fast(
    db: Database,
    database_url: str,
    jobs: procrastinate.App,
    world: World,
    query: str,
    variables: dict[str, Any],
    authorization: Callable[[World], str | None],
    expected: str | None,
) -> None:
    """With the document known to the fast path (answered compiled for good variables),
    a request the normal path refuses, or answers another way, goes down the normal path
    and gets exactly the normal path's answer."""
    header = authorization(world)
    good = {TENANT: {"id": gid("Tenant", world.a1.id)}, TENANTS: {"n": 2}, TREE: {"n": 2}}
    good[NODES] = {"ids": [gid("Tenant", world.a1.id)]}
    async with client(db, database_url, jobs) as fresh:
        normal = await send(fresh, query, variables, header)
    async with client(db, database_url, jobs) as http:
        primed = await post(http, query, good[query], world.a1_admin.token)
        assert primed.headers[PATH_HEADER] == "compiled", primed.text
        before = FAST_READS["answered"]
        response = await send(http, query, variables, header)
        assert FAST_READS["answered"] == before
    assert answered(response) == answered(normal)
    body = normal.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", ())] or ["data"]
    assert codes == [expected], body


async def test_a_revoked_token_is_refused_on_a_known_document(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """The token is checked on every request: nothing about the caller is kept."""
    variables = {"id": gid("Tenant", world.a1.id)}
    async with client(db, database_url, jobs) as http:
        await post(http, TENANT, variables, world.a1_admin.token)
        assert (await post(http, TENANT, variables, world.a1_admin.token)).status_code == 200
        async with db.write() as session:
            await session.execute(
                sa.update(ApiToken)
                .where(ApiToken.id == world.a1_admin.token_id)
                .values(revoked_at=sa.func.now())
            )
        refused = await post(http, TENANT, variables, world.a1_admin.token)
    body = refused.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_body_over_the_cap_is_refused_on_a_known_document(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    settings = Settings(database_url=database_url, max_body_bytes=2_000)
    app = create_app(settings, db=db, jobs=jobs)
    variables = {"id": gid("Tenant", world.a1.id)}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        await post(http, TENANT, variables, world.a1_admin.token)
        before = FAST_READS["answered"]
        big = await post(http, TENANT, {**variables, "pad": "x" * 3_000}, world.a1_admin.token)
        assert FAST_READS["answered"] == before
    assert big.status_code == 413
    assert big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_the_reads_pool_keeps_the_connections_it_opens(database_url: str) -> None:
    """Under concurrent reads the pool grows to its total (size plus overflow) and keeps
    those connections: closing each extra one on return, and opening (and preparing every
    statement on) a new one for the next request, cut HTTP reads to a tenth."""
    db = Database.connect(database_url, pool_size=1, max_overflow=2)
    assert db.reads is not None
    opened: list[object] = []
    sa.event.listen(db.reads.sync_engine, "connect", lambda *_: opened.append(1))
    release = asyncio.Event()

    async def read() -> None:
        async with db.bare() as connection:
            await release.wait()
            await connection.fetchval("SELECT 1")

    try:
        for _ in range(3):
            tasks = [asyncio.create_task(read()) for _ in range(3)]
            await asyncio.sleep(0.2)
            release.set()
            await asyncio.gather(*tasks)
            release.clear()
        assert len(opened) == 3
        assert db.reads.pool.checkedin() == 3  # type: ignore[attr-defined]
    finally:
        await db.dispose()


async def test_a_known_document_is_answered_in_the_media_type_the_client_accepts(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """GraphQL over HTTP: a client that accepts application/graphql-response+json gets it
    from the fast path as from the normal path."""
    variables = {"id": gid("Tenant", world.a1.id)}
    headers = {"Authorization": f"Bearer {world.a1_admin.token}"}
    headers["Accept"] = "application/graphql-response+json"
    body = {"query": TENANT, "variables": variables}
    async with client(db, database_url, jobs) as http:
        first = await http.post("/graphql", json=body, headers=headers)
        before = FAST_READS["answered"]
        second = await http.post("/graphql", json=body, headers=headers)
        assert FAST_READS["answered"] == before + 1
    assert first.headers["content-type"] == "application/graphql-response+json"
    assert answered(second)[:2] == answered(first)[:2]
    assert second.headers["content-type"] == first.headers["content-type"]


def costly_gate(http: httpx.AsyncClient) -> asyncio.Semaphore:
    """The application's gate for costly operations (one per process)."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    view = next(r.endpoint for r in transport.app.routes if getattr(r, "path", "") == "/graphql")
    gate: asyncio.Semaphore = view.fast_reads.costly_gate
    return gate


async def test_a_known_costly_document_is_answered_fast_through_the_gate(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """A costly operation the compiled path answered before skips Strawberry too, but still
    waits for the gate the normal path's costly operations wait for."""
    token = world.a1_admin.token
    async with client(db, database_url, jobs) as http:
        first = await post(http, TREE, COSTLY, token)
        assert first.json()["extensions"]["cost"]["requested"] >= SETTINGS["costly_query_cost"]
        gate = costly_gate(http)
        await gate.acquire()  # a costly operation is running
        before = FAST_READS["answered"]
        waiting = asyncio.create_task(post(http, TREE, COSTLY, token))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        gate.release()
        second = await waiting
        assert FAST_READS["answered"] == before + 1
        assert not gate.locked()  # given back
    assert answered(second) == answered(first)


async def test_a_costly_document_that_cannot_pass_the_gate_in_time_is_told_busy_once(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """Its wait ran out on the fast path: the normal path answers busy (503, Retry-After)
    as it would have, without a second wait."""
    token = world.a1_admin.token
    wait = 0.5
    async with client(db, database_url, jobs, costly_query_wait_seconds=wait) as fresh:
        gate = costly_gate(fresh)
        await gate.acquire()
        normal = await post(fresh, TREE, COSTLY, token)
        gate.release()
    async with client(db, database_url, jobs, costly_query_wait_seconds=wait) as http:
        await post(http, TREE, COSTLY, token)
        gate = costly_gate(http)
        await gate.acquire()
        started = asyncio.get_running_loop().time()
        busy = await post(http, TREE, COSTLY, token)
        waited = asyncio.get_running_loop().time() - started
        gate.release()
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert [e["extensions"]["code"] for e in busy.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert answered(busy) == answered(normal)
    assert wait <= waited < 2 * wait


async def test_the_rate_limit_holds_on_known_documents_cheap_and_costly(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    token = world.b1_admin.token
    async with client(db, database_url, jobs, rate_limit_per_minute=4) as http:
        # Each document once on the normal path, then again on the fast one.
        statuses = [
            (await post(http, TREE, variables, token)).status_code
            for variables in ({"n": 2}, COSTLY, {"n": 2}, COSTLY)
        ]
        before = FAST_READS["answered"]
        refused = [await post(http, TREE, variables, token) for variables in ({"n": 2}, COSTLY)]
        assert FAST_READS["answered"] == before
    assert statuses == [200] * 4
    assert [r.status_code for r in refused] == [429, 429]
    assert [r.json()["errors"][0]["extensions"]["code"] for r in refused] == ["RATE_LIMITED"] * 2
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in refused)


VIEWER = "{ viewer { tenant { name } } }"


async def test_a_token_whose_principal_changed_is_answered_for_the_new_one(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """The fast path's one statement reads for the principal the token had last time; when
    the token now belongs elsewhere, that read is not used."""
    token = world.a1_admin.token
    async with client(db, database_url, jobs) as http:
        await post(http, VIEWER, {}, token)
        before = FAST_READS["answered"]
        assert (await post(http, VIEWER, {}, token)).json()["data"]["viewer"]["tenant"] == {
            "name": world.a1.name
        }
        async with db.write() as session:
            await session.execute(
                sa.update(User)
                .where(User.id == world.a1_admin.user.id)
                .values(tenant_id=world.b1.id)
            )
        moved = await post(http, VIEWER, {}, token)
        again = await post(http, VIEWER, {}, token)
        assert FAST_READS["answered"] == before + 3
    assert moved.json()["data"]["viewer"]["tenant"] == {"name": world.b1.name}
    assert answered(again) == answered(moved)


async def test_concurrent_known_reads_of_one_token_get_exactly_its_limit(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    token = world.a2_admin.token
    async with client(db, database_url, jobs, rate_limit_per_minute=6) as http:
        await post(http, VIEWER, {}, token)
        await post(http, VIEWER, {}, token)  # the fast path knows the token's principal now
        responses = await asyncio.gather(*[post(http, VIEWER, {}, token) for _ in range(10)])
    assert sorted(r.status_code for r in responses) == [200] * 4 + [429] * 6
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_the_one_statement_reads_before_it_locks_the_rate_limit_bucket(
    db: Database, world: World
) -> None:
    """A token's concurrent reads must not queue behind each other on its bucket's row lock,
    which the upsert holds until its statement ends: the read runs first."""
    key = f"token:{world.a1_admin.token_id}"
    slow = Read("SELECT pg_sleep(0.6)::text", [], world.a1.id)
    seen: list[str] = []

    async def bucket_during_the_read() -> None:
        await asyncio.sleep(0.3)
        async with db.bare() as other, other.transaction():
            await other.execute("SET LOCAL lock_timeout = '50ms'")
            try:
                await other.fetch("SELECT 1 FROM rate_limit_buckets WHERE key = $1 FOR UPDATE", key)
                seen.append("free")
            except asyncpg.LockNotAvailableError:
                seen.append("locked")

    async def read() -> Found:
        async with db.bare() as connection:
            return await authenticate_and_read(
                connection,
                token_digest(world.a1_admin.token),
                datetime.now(UTC),
                impersonating=False,
                read=slow,
                per_minute=100,
            )

    await read()  # the bucket exists from now on
    found, _ = await asyncio.gather(read(), bucket_during_the_read())
    assert seen == ["free"]
    assert found.principal is not None and found.principal.tenant_id == world.a1.id
    assert found.taken is not None and found.taken.allowed
    assert found.data == ""  # pg_sleep's void, as text: the read ran


async def test_a_read_that_fails_in_the_one_statement_is_answered_by_the_normal_path(
    db: Database,
    database_url: str,
    jobs: procrastinate.App,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As when a compiled read fails on the normal path: the resolver path answers (no 500),
    and the request counts once against the rate limit."""
    token = world.a1_admin.token
    async with client(db, database_url, jobs, rate_limit_per_minute=4) as http:
        await post(http, VIEWER, {}, token)
        await post(http, VIEWER, {}, token)  # the fast path knows the token's principal now
        transport = http._transport
        assert isinstance(transport, httpx.ASGITransport)
        view = next(
            r.endpoint for r in transport.app.routes if getattr(r, "path", "") == "/graphql"
        )
        broken = Statement("SELECT (1 / 0)::text", ())
        monkeypatch.setattr(view.fast_reads.compiler, "bind", lambda *_: (broken, []))
        answer = await post(http, VIEWER, {}, token)
        fourth = await post(http, VIEWER, {}, token)
        over = await post(http, VIEWER, {}, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"viewer": {"tenant": {"name": world.a1.name}}}
    assert answer.headers[PATH_HEADER] == "resolver"
    assert fourth.status_code == 200
    assert over.status_code == 429

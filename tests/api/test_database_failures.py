"""A slow statement, an exhausted pool, a database gone: clear JSON answers, never a hang
or a plain-text 500."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import procrastinate
import sqlalchemy as sa

from tenantry.api.types.report import DOWNLOAD_PATH
from tenantry.app import connect_api_database, create_app
from tenantry.db.engine import Database
from tenantry.jobs import connect_jobs_database
from tenantry.settings import Settings
from tests.fixtures.graphql import GraphQLClient, client_of
from tests.fixtures.world import World
from tests.ids import gid

UNAVAILABLE = {
    "errors": [
        {
            "message": "The service is busy or its database is unavailable; retry later.",
            "extensions": {"code": "SERVICE_UNAVAILABLE", "retryAfter": 1},
        }
    ]
}
# How long a test holds a lock: well past the short timeouts these tests set, so that
# without those timeouts the request would wait for the lock and then succeed.
LOCK_SECONDS = 3


@asynccontextmanager
async def app_on(
    database: Database, database_url: str, jobs: procrastinate.App
) -> AsyncIterator[GraphQLClient]:
    try:
        async with client_of(
            create_app(Settings(database_url=database_url), db=database, jobs=jobs)
        ) as gql:
            yield gql
    finally:
        await database.dispose()


@asynccontextmanager
async def locked(database_url: str, table: str) -> AsyncIterator[asyncpg.Connection]:
    """Holds an exclusive lock on ``table`` for ``LOCK_SECONDS`` from another connection."""
    connection = await asyncpg.connect(database_url)
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    async def release() -> None:
        await asyncio.sleep(LOCK_SECONDS)
        await transaction.rollback()

    releasing = asyncio.create_task(release())
    try:
        yield connection
    finally:
        await releasing
        await connection.close()


async def wait_for_lock_waiter(locker: asyncpg.Connection, *, terminate: bool = False) -> None:
    """Until a backend waits on the locker's lock; ``terminate`` ends that backend."""
    waiter = "pg_terminate_backend(pid)" if terminate else "pid"
    while not await locker.fetchval(
        f"SELECT count({waiter}) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ):
        # Within its transaction the locker would keep seeing the first snapshot.
        await locker.execute("SELECT pg_stat_clear_snapshot()")
        await asyncio.sleep(0.05)


def assert_unavailable(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


async def test_a_statement_past_the_timeout_answers_timeout(
    database_url: str, jobs: procrastinate.App, world: World
) -> None:
    database = Database.connect(database_url, statement_timeout_ms=200)
    query = "query($id: ID!) { tenant(id: $id) { moniker customers { totalCount } } }"
    async with app_on(database, database_url, jobs) as gql, locked(database_url, "customers"):
        response = await gql.post(query, {"id": gid("Tenant", world.a.id)}, world.root_admin.token)
    assert response.status_code == 200
    assert response.json()["data"] == {"tenant": None}
    assert [(e["message"], e["path"], e["extensions"]) for e in response.json()["errors"]] == [
        (
            "The request took too long and was stopped; ask for less (smaller pages).",
            ["tenant", "customers"],
            {"code": "TIMEOUT"},
        )
    ]


async def test_api_requests_have_a_statement_timeout_and_jobs_do_not(database_url: str) -> None:
    """The databases `tenantry serve` and `tenantry worker` make (a report build or an
    invoice run may take longer than any API call should)."""
    settings = Settings(statement_timeout_ms=1234, job_statement_timeout_ms=0)
    timeouts = []
    for database in (
        connect_api_database(database_url, settings),
        connect_jobs_database(database_url, settings),
    ):
        try:
            async with database.read() as session:
                timeouts.append(await session.scalar(sa.text("SHOW statement_timeout")))
        finally:
            await database.dispose()
    assert timeouts == ["1234ms", "0"]


async def test_an_exhausted_pool_answers_503_while_authenticating(
    database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """Authentication takes its connection from the reads pool (one statement, no ping)."""
    database = Database.connect(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    assert database.reads is not None
    async with app_on(database, database_url, jobs) as gql, database.reads.connect():
        response = await gql.post("{ viewer { role } }", token=world.root_admin.token)
    assert assert_unavailable(response) == UNAVAILABLE


async def test_an_exhausted_pool_answers_503_while_resolving(
    database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """Two root fields run at once; the first holds the only connection (waiting on a lock),
    the second finds none within the pool timeout."""
    database = Database.connect(database_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    query = "{ a: sponsorOperators { name } b: sponsorOperators { name } }"
    async with (
        app_on(database, database_url, jobs) as gql,
        locked(database_url, "sponsor_operators"),
    ):
        response = await gql.post(query, token=world.root_admin.token)
    body = assert_unavailable(response)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]


async def test_a_connection_lost_while_resolving_answers_503(
    database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """On the resolver path (``sponsorOperators`` does not compile; a compiled read that
    loses its connection is answered by the resolver path instead)."""
    database = Database.connect(database_url)
    query = "{ sponsorOperators { name } }"
    async with (
        app_on(database, database_url, jobs) as gql,
        locked(database_url, "sponsor_operators") as locker,
    ):
        request = asyncio.create_task(gql.post(query, token=world.root_admin.token))
        # The server goes away under the request's statement (as in a restart or failover).
        # The server goes away under the request's statement (as in a restart or failover).
        await wait_for_lock_waiter(locker, terminate=True)
        response = await request
    body = assert_unavailable(response)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_that_is_down_answers_503_in_json(
    database_url: str, jobs: procrastinate.App
) -> None:
    down = Database.connect(f"postgresql://postgres@127.0.0.1:{_closed_port()}/tenantry")
    link = DOWNLOAD_PATH.format(id=gid("UsageReport", 1)) + "?expires=9999999999&signature=x"
    async with app_on(down, database_url, jobs) as gql:
        graphql = await gql.post("{ viewer { role } }", token="tnt_any")
        ready = await gql.http.get("/readyz")
        download = await gql.http.get(link)
    assert assert_unavailable(graphql) == UNAVAILABLE
    assert assert_unavailable(ready)["status"] == "unavailable"
    assert assert_unavailable(download) == UNAVAILABLE


async def test_costly_queries_wait_their_turn_and_small_ones_do_not(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    """One costly query at a time: while one waits on a lock, the next costly one is told to
    retry later; a small one is answered at once."""
    settings = Settings(
        database_url=database_url,
        costly_query_cost=20,
        costly_query_concurrency=1,
        costly_query_wait_seconds=0.2,
    )
    costly = "query($id: ID!) { tenant(id: $id) { customers { totalCount } } }"
    small = "{ viewer { tenant { moniker } } }"
    variables = {"id": gid("Tenant", world.a.id)}
    async with (
        client_of(create_app(settings, db=db, jobs=jobs)) as gql,
        locked(database_url, "customers") as locker,
    ):
        first = asyncio.create_task(gql.post(costly, variables, world.root_admin.token))
        await wait_for_lock_waiter(locker)  # the first one is in, waiting on the lock
        second = await gql.post(costly, variables, world.root_admin.token)
        quick = await gql.post(small, token=world.root_admin.token)
        assert not first.done()
        answered = await first
    assert assert_unavailable(second) == {
        "data": None,
        **UNAVAILABLE,
        "extensions": {"cost": {"requested": 22, "budget": 200_000}},
    }
    assert quick.json()["data"] == {"viewer": {"tenant": {"moniker": "platform"}}}
    assert answered.json()["data"] == {"tenant": {"customers": {"totalCount": 0}}}

"""Browser apps (issue 13): CORS from a setting (HTTP and WebSocket), Automatic Persisted
Queries in Apollo's protocol, the allow-list, and per-token rate limits in PostgreSQL."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import procrastinate
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tenantry.app import create_app
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tests.fixtures.graphql import GraphQLClient, client_of
from tests.fixtures.world import World

APP = "https://app.example.com"
QUERY = "query Role { viewer { role } }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()


def persisted(sha: str = SHA) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


@pytest.fixture
async def browser_app(
    db: Database, database_url: str, jobs: procrastinate.App
) -> AsyncIterator[GraphQLClient]:
    settings = Settings(database_url=database_url, cors_origins=[APP])
    async with client_of(create_app(settings, db=db, jobs=jobs)) as client:
        yield client


# CORS


async def test_a_preflight_from_an_allowed_origin_is_answered(browser_app: GraphQLClient) -> None:
    response = await browser_app.http.options(
        "/graphql",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


async def test_a_cross_origin_request_from_an_allowed_origin_may_read_the_answer(
    browser_app: GraphQLClient,
) -> None:
    response = await browser_app.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP}
    )

    assert response.headers["access-control-allow-origin"] == APP
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize("cors_origins", [[], [APP]])
async def test_a_preflight_from_another_origin_is_refused(
    db: Database, database_url: str, jobs: procrastinate.App, cors_origins: list[str]
) -> None:
    settings = Settings(database_url=database_url, cors_origins=cors_origins)
    async with client_of(create_app(settings, db=db, jobs=jobs)) as client:
        response = await client.http.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        simple = await client.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://evil.example"},
        )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in simple.headers


def test_cors_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_CORS_ORIGINS", f"{APP}, https://admin.example.com")
    assert Settings().cors_origins == [APP, "https://admin.example.com"]


@pytest.mark.parametrize(("origin", "opens"), [(APP, True), ("https://evil.example", False)])
def test_a_websocket_from_another_origin_opens_only_when_allowed(
    database_url: str, origin: str, opens: bool
) -> None:
    # A handshake without a token does no database work: the pool never connects.
    db = Database.connect(database_url, pool_size=1, max_overflow=0)
    app = create_app(Settings(database_url=database_url, cors_origins=[APP]), db=db)
    client = TestClient(app)
    headers = {"Origin": origin}
    if opens:
        with client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"], headers=headers
        ) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json() == {"type": "connection_ack"}
    else:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"], headers=headers
            ),
        ):
            pass
        assert refused.value.code == 1008  # the handshake is answered 403


# Automatic Persisted Queries


async def test_an_apq_round_trip_over_post_and_get(gql: GraphQLClient, world: World) -> None:
    auth = {"Authorization": f"Bearer {world.a1_admin.token}"}

    async def by_post(body: dict[str, Any]) -> Any:
        return (await gql.http.post("/graphql", json=body, headers=auth)).json()

    async def by_get() -> Any:
        params = {"extensions": json.dumps(persisted()), "operationName": "Role"}
        response = await gql.http.get("/graphql", params=params, headers=auth)
        assert response.status_code == 200
        return response.json()

    unknown = await by_post({"extensions": persisted()})
    assert unknown["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert (await by_get())["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = await by_post({"query": QUERY, "extensions": persisted()})
    assert registered["data"] == {"viewer": {"role": "ADMIN"}}

    assert (await by_post({"extensions": persisted()}))["data"] == {"viewer": {"role": "ADMIN"}}
    assert (await by_get())["data"] == {"viewer": {"role": "ADMIN"}}


async def test_a_hash_that_is_not_the_query_s_is_refused(gql: GraphQLClient, world: World) -> None:
    body = {"query": "{ __typename }", "extensions": persisted()}
    response = await gql.http.post(
        "/graphql", json=body, headers={"Accept": "application/graphql-response+json"}
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}
    # Nothing was stored under the hash it claimed.
    again = await gql.post_json({"extensions": persisted()}, world.a1_admin.token)
    assert again["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_anonymous_caller_s_document_runs_but_is_not_stored(gql: GraphQLClient) -> None:
    document = "{ __typename }"
    sha = hashlib.sha256(document.encode()).hexdigest()

    ran = await gql.post_json({"query": document, "extensions": persisted(sha)}, None)
    assert ran["data"] == {"__typename": "Query"}
    again = await gql.post_json({"extensions": persisted(sha)}, None)
    assert again["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_unsupported_persisted_query_version_is_refused(gql: GraphQLClient) -> None:
    body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": SHA}}}
    refused = await gql.post_json(body, None)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def register(database_url: str, tmp_path: Path, document: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "role.graphql"
    path.write_text(document)
    return subprocess.run(
        [str(Path(sys.executable).parent / "tenantry"), "persisted-queries", "register", str(path)],
        env={**os.environ, "DATABASE_URL": database_url, "TENANTRY_LOG_LEVEL": "warning"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_allow_list_mode_runs_registered_documents_only(
    db: Database, database_url: str, jobs: procrastinate.App, world: World, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, persisted_queries_only=True)
    token = world.a1_admin.token
    async with client_of(create_app(settings, db=db, jobs=jobs)) as client:
        # Sent in full, by hash, or as an APQ registration: refused while not registered.
        for body in (
            {"query": QUERY},
            {"extensions": persisted()},
            {"query": QUERY, "extensions": persisted()},
        ):
            refused = await client.post_json(body, token)
            assert refused["data"] is None
            assert [e["extensions"]["code"] for e in refused["errors"]] == [
                "PERSISTED_QUERY_NOT_ALLOWED"
            ]

        bad = await asyncio.to_thread(register, database_url, tmp_path, "{ nope }")
        assert bad.returncode == 1
        assert "Cannot query field 'nope'" in bad.stderr
        run = await asyncio.to_thread(register, database_url, tmp_path, QUERY)
        assert run.returncode == 0, run.stderr
        assert run.stdout.split() == [SHA]

        for body in ({"query": QUERY}, {"extensions": persisted()}):
            allowed = await client.post_json(body, token)
            assert allowed["data"] == {"viewer": {"role": "ADMIN"}}, allowed
        other = await client.post_json({"query": "{ viewer { tenant { id } } }"}, token)
        assert other["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


# Rate limits


@pytest.fixture
async def two_apps(
    database_url: str, jobs: procrastinate.App
) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    """Two instances of the API, each with its own pool: they share only PostgreSQL."""
    settings = Settings(
        database_url=database_url, rate_limit_per_minute=6, rate_limit_anonymous_per_minute=3
    )
    first = Database.connect(database_url, pool_size=5, max_overflow=0)
    second = Database.connect(database_url, pool_size=5, max_overflow=0)
    try:
        async with (
            client_of(create_app(settings, db=first, jobs=jobs)) as one,
            client_of(create_app(settings, db=second, jobs=jobs)) as two,
        ):
            yield one, two
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_token_over_its_limit_gets_429_across_app_instances(
    two_apps: tuple[GraphQLClient, GraphQLClient], world: World
) -> None:
    one, two = two_apps
    token = world.a1_admin.token
    statuses = [
        (await (one if i % 2 else two).post("{ viewer { role } }", token=token)).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 6

    refused = await one.post("{ viewer { role } }", token=token)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 10
    (error,) = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    assert "at most 6 a minute" in error["message"]
    assert (await two.post("{ viewer { role } }", token=token)).status_code == 429
    # Another token has its own bucket.
    other = await two.post("{ viewer { role } }", token=world.b1_admin.token)
    assert other.status_code == 200


async def test_concurrent_requests_from_two_instances_get_exactly_the_limit(
    two_apps: tuple[GraphQLClient, GraphQLClient], world: World
) -> None:
    one, two = two_apps
    token = world.a2_admin.token
    responses = await asyncio.gather(
        *[(one, two)[i % 2].post("{ viewer { role } }", token=token) for i in range(16)]
    )

    assert sorted(r.status_code for r in responses) == [200] * 6 + [429] * 10


async def test_anonymous_callers_are_limited_by_address(
    two_apps: tuple[GraphQLClient, GraphQLClient],
) -> None:
    one, two = two_apps
    statuses = [(await one.post("{ __typename }")).status_code for _ in range(3)]
    refused = await two.post("{ __typename }")

    assert statuses == [200] * 3
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_allow_list_mode_holds_over_websockets(database_url: str, tmp_path: Path) -> None:
    db = Database.connect(database_url, pool_size=1, max_overflow=0)
    settings = Settings(database_url=database_url, persisted_queries_only=True)
    document = "query Typename { __typename }"

    def subscribe(client: TestClient) -> dict[str, Any]:
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json() == {"type": "connection_ack"}
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": document}})
            answer: dict[str, Any] = ws.receive_json()
            return answer

    with TestClient(create_app(settings, db=db)) as client:
        refused = subscribe(client)
        assert refused["type"] == "error"
        assert [e["extensions"]["code"] for e in refused["payload"]] == [
            "PERSISTED_QUERY_NOT_ALLOWED"
        ]
        assert register(database_url, tmp_path, document).returncode == 0
        allowed = subscribe(client)
        assert allowed["type"] == "next", allowed
        assert allowed["payload"]["data"] == {"__typename": "Query"}
        client.portal.call(db.dispose)


def test_operations_over_websockets_count_against_the_callers_rate_limit(
    database_url: str, world: World
) -> None:
    db = Database.connect(database_url, pool_size=2, max_overflow=0)
    settings = Settings(database_url=database_url, rate_limit_per_minute=3)
    token = world.a1_admin.token

    with TestClient(create_app(settings, db=db)) as client:
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
            assert ws.receive_json() == {"type": "connection_ack"}
            answers = []
            for i in range(3):
                operation = {"query": "{ viewer { role } }"}
                ws.send_json({"id": str(i), "type": "subscribe", "payload": operation})
                answers.append(ws.receive_json())
                assert ws.receive_json() == {"id": str(i), "type": "complete"}
            assert [a["payload"]["data"] for a in answers] == [{"viewer": {"role": "ADMIN"}}] * 3

            ws.send_json({"id": "3", "type": "subscribe", "payload": {"query": "{ __typename }"}})
            refused = ws.receive_json()
            assert refused["type"] == "error"
            (error,) = refused["payload"]
            assert error["extensions"] == {"code": "RATE_LIMITED"}
            assert "at most 3 a minute" in error["message"]
        # The same bucket as HTTP requests, and another token has its own.
        over_http = client.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert over_http.status_code == 429
        other = client.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"Authorization": f"Bearer {world.b1_admin.token}"},
        )
        assert other.status_code == 200
        client.portal.call(db.dispose)

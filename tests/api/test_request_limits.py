"""One request cannot hold a process: roles are checked before bulk input is coerced, and
bodies, batches and documents are capped (issue 8, item 2)."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import procrastinate
import pytest
from graphql.execution import executor

from tenantry.app import create_app
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, record
from tests.fixtures.world import World

MiB = 1024 * 1024


def garbage_records(count: int) -> list[dict[str, Any]]:
    """Records no coercion could accept: any answer about them means they were coerced."""
    return [
        {"eventId": 5, "endpointId": [], "kind": "NOPE", "quantity": "x", "occurredAt": "y"}
    ] * count


@pytest.fixture
def coercions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts how often graphql-core coerces an operation's variables."""
    calls: list[int] = []
    coerce: Callable[..., Any] = executor.get_variable_values

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return coerce(*args, **kwargs)

    monkeypatch.setattr(executor, "get_variable_values", counting)
    return calls


@pytest.mark.parametrize("who", ["a1_viewer", "a1_admin"])
async def test_a_caller_without_the_role_is_refused_before_its_input_is_coerced(
    gql: GraphQLClient, world: World, coercions: list[int], who: str
) -> None:
    token = getattr(world, who).token
    refused = await gql.execute(RECORD, {"r": garbage_records(10_000)}, token=token)
    assert refused == {
        "data": None,
        "errors": [
            {"message": "Only platform admins may do this.", "extensions": {"code": "FORBIDDEN"}}
        ]
        if who == "a1_admin"
        else [
            {
                "message": "Your role may not change anything here.",
                "extensions": {"code": "FORBIDDEN"},
            }
        ],
    }
    assert coercions == []
    # The same garbage from a platform admin is coerced, and refused for what it is.
    coerced = await gql.execute(RECORD, {"r": garbage_records(2)}, token=world.root_admin.token)
    assert coerced["data"] is None
    messages = [e["message"] for e in coerced["errors"]]
    assert len(messages) == 10 and all(m.startswith("Variable '$r' has invalid") for m in messages)
    assert coercions == [1]


async def test_the_role_check_covers_every_root_field_and_fragment(
    gql: GraphQLClient, world: World, coercions: list[int]
) -> None:
    query = """mutation($r: [UsageRecordInput!]!) { viewer: __typename ...Ingest }
               fragment Ingest on Mutation { recordUsage(input: {records: $r}) { accepted } }"""
    assert await gql.refused(query, {"r": garbage_records(3)}, token=world.a1_viewer.token) == [
        "FORBIDDEN"
    ]
    assert coercions == []


async def test_a_full_batch_fits_in_a_body(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    records = [record(priced.endpoint_id, f"event-{i:05}", "1") for i in range(10_000)]
    body = json.dumps({"query": RECORD, "variables": {"r": records}}).encode()
    assert 1 * MiB < len(body) < Settings.model_fields["max_body_bytes"].default / 2
    response = await gql.http.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {world.root_admin.token}",
            "Content-Type": "application/json",
        },
    )
    assert response.json()["data"]["recordUsage"] == {
        "accepted": 10_000,
        "duplicates": 0,
        "userErrors": [],
    }


async def test_a_longer_batch_is_refused_before_coercion(
    gql: GraphQLClient, world: World, priced: Priced, coercions: list[int]
) -> None:
    records = [record(priced.endpoint_id, f"e{i}", "1") for i in range(10_001)]
    body = await gql.execute(RECORD, {"r": records}, token=world.root_admin.token)
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "The list at $r holds 10001 items; at most 10000 are accepted.",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert coercions == []


PAYLOAD_TOO_LARGE = {
    "errors": [
        {
            "message": "The request body is larger than the limit of 65536 bytes.",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }
    ]
}


@pytest.fixture
async def small_bodies(
    db: Database, settings: Settings, jobs: procrastinate.App
) -> AsyncIterator[httpx.AsyncClient]:
    """The application with a 64 KiB body cap."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 64 * 1024}), db=db, jobs=jobs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def padded(size: int) -> bytes:
    """A valid request of exactly ``size`` bytes."""
    head = b'{"query": "{ __typename }", "variables": {"pad": "'
    return head + b"x" * (size - len(head) - 3) + b'"}}'


async def test_bodies_up_to_the_cap_are_read(small_bodies: httpx.AsyncClient) -> None:
    body = padded(64 * 1024)
    response = await small_bodies.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["data"]) == (200, {"__typename": "Query"})


async def test_a_larger_body_is_refused_by_its_declared_length(
    small_bodies: httpx.AsyncClient,
) -> None:
    response = await small_bodies.post(
        "/graphql", content=padded(64 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == PAYLOAD_TOO_LARGE


async def test_a_chunked_body_is_refused_while_it_streams(
    small_bodies: httpx.AsyncClient,
) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(1000):  # 16 MB, if it were all read
            sent.append(1)
            yield b"x" * 16 * 1024

    response = await small_bodies.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()) == (413, PAYLOAD_TOO_LARGE)
    # Refused as soon as the cap was passed (the head and four chunks), not after 16 MB.
    assert len(sent) == 4


def operations(count: int) -> str:
    return " ".join(f"query Q{i} {{ __typename }}" for i in range(count))


async def test_operations_per_document_are_capped(gql: GraphQLClient, world: World) -> None:
    token = world.a1_viewer.token
    response = await gql.http.post(
        "/graphql",
        json={"query": operations(20), "operationName": "Q19"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["data"] == {"__typename": "Query"}
    refused = await gql.http.post(
        "/graphql",
        json={"query": operations(500), "operationName": "Q1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.json() == {
        "data": None,
        "errors": [
            {
                "message": "The document defines 500 operations; at most 20 are accepted.",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_fragments_per_document_are_capped(gql: GraphQLClient, world: World) -> None:
    def document(count: int) -> str:
        spreads = " ".join(f"...F{i}" for i in range(count))
        fragments = " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(count))
        return f"{{ {spreads} }} {fragments}"

    token = world.a1_viewer.token
    assert await gql.data(document(200), token=token) == {"__typename": "Query"}
    assert await gql.refused(document(201), token=token) == ["BAD_USER_INPUT"]

"""Every bad request gets a clear 4xx or user error in JSON, never a 500 or a masked error
(issue 8, item 7)."""

import base64
import json
from typing import Any

import httpx
import pytest

from tenantry.api.types.report import DOWNLOAD_PATH
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.world import World
from tests.ids import gid

NOT_AN_OBJECT = 'The request body must be a JSON object: {"query": "...", "variables": {}}.'


def bad_request(response: httpx.Response) -> str:
    """The message of a JSON HTTP 400 refusal."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
    message: str = body["errors"][0]["message"]
    return message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"{ __typename }"', NOT_AN_OBJECT),
        (b"null", NOT_AN_OBJECT),
        (b"42", NOT_AN_OBJECT),
        (b'[{"query": "{ __typename }"}]', "Batching is not enabled"),
        (b'{"query": "{ __typename }"', "Unable to parse request body as JSON"),
        (b'{"query": "\xff{ __typename }"}', "The request body is not valid UTF-8."),
        (b"[" * 100_000 + b"]" * 100_000, "The JSON nests too deeply."),
    ],
)
async def test_a_malformed_body_is_answered_400_in_json(
    gql: GraphQLClient, body: bytes, message: str
) -> None:
    response = await gql.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert bad_request(response) == message


async def test_deeply_nested_variables_in_a_get_are_answered_400(gql: GraphQLClient) -> None:
    response = await gql.http.get(
        "/graphql", params={"query": "{ __typename }", "variables": "[" * 5_000}
    )
    assert bad_request(response) == "The JSON nests too deeply."


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_told_to_use_a_websocket(
    gql: GraphQLClient, world: World, method: str
) -> None:
    query = "subscription($id: ID!) { usageReport(id: $id) { status } }"
    request: dict[str, Any] = {"query": query, "variables": {"id": gid("UsageReport", 1)}}
    headers = {"Authorization": f"Bearer {world.a1_admin.token}"}
    if method == "GET":
        request["variables"] = json.dumps(request["variables"])
        response = await gql.http.get("/graphql", params=request, headers=headers)
    else:
        response = await gql.http.post("/graphql", json=request, headers=headers)
    assert response.json()["data"] is None
    assert bad_request(response) == (
        "Subscriptions need a WebSocket: connect to this endpoint with the "
        "graphql-transport-ws protocol (queries and mutations work over HTTP)."
    )


@pytest.mark.parametrize(
    ("expires", "signature"),
    [
        ("\u00b2", "0" * 64),  # a superscript two is a digit to str.isdigit()
        ("9" * 5000, "0" * 64),  # past int()'s 4,300-digit limit
        ("\u0661\u0662", "0" * 64),  # Arabic-Indic digits
        ("4102444800", "\u00b2" * 64),  # hmac.compare_digest refuses non-ASCII text
        ("1e12", "0" * 64),
        ("", ""),
    ],
)
async def test_a_garbled_download_link_is_refused_403_in_json(
    gql: GraphQLClient, expires: str, signature: str
) -> None:
    for report_id in (gid("UsageReport", 1), gid("UsageReport", "9" * 25), "\u00b2"):
        response = await gql.http.get(
            DOWNLOAD_PATH.replace("{id}", report_id),
            params={"expires": expires, "signature": signature},
        )
        assert response.status_code == 403
        assert response.json() == {
            "errors": [
                {
                    "message": "This link is not valid, or it has expired.",
                    "extensions": {"code": "FORBIDDEN"},
                }
            ]
        }


@pytest.mark.parametrize(
    "node_id",
    ["9" * 25, "9223372036854775808", "\u00b2", "\u0661", "1.0", "-1", " 1"],
)
async def test_an_id_no_row_can_have_is_an_unknown_id(
    gql: GraphQLClient, world: World, node_id: str
) -> None:
    token = world.root_admin.token
    query = """query($id: ID!, $ids: [ID!]!) { node(id: $id) { id } nodes(ids: $ids) { id }
               tenant(id: $id) { id } }"""
    assert await gql.data(
        query, {"id": gid("Tenant", node_id), "ids": [gid("Tenant", node_id)]}, token=token
    ) == {
        "node": None,
        "nodes": [None],
        "tenant": None,
    }
    top_up = await gql.data(
        """mutation($a: ID!) { topUpAccount(input: {accountId: $a, amount: "1", idempotencyKey: "k"}) {
             userErrors { field code } } }""",
        {"a": gid("Account", node_id)},
        token=token,
    )
    assert top_up["topUpAccount"]["userErrors"] == [
        {"field": ["input", "accountId"], "code": "NOT_FOUND"}
    ]


async def test_a_cursor_past_bigint_is_not_a_cursor(gql: GraphQLClient, world: World) -> None:
    cursor = base64.urlsafe_b64encode(b"cursor:" + b"9" * 25).decode()
    body = await gql.execute(
        "query($c: String!) { tenants(after: $c) { totalCount } }",
        {"c": cursor},
        token=world.root_admin.token,
    )
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("'after' is not a cursor this API gave out.", "BAD_USER_INPUT")
    ]


NUL, SURROGATE = "a\x00b", "a\ud800b"

# Every kind of text a client types, each where the database would have refused it.
TEXT_INPUTS: list[tuple[str, str, Any]] = [
    ("search", "query($s: String!) { tenants(search: $s) { totalCount } }", "{s}"),
    ("moniker", "query($s: String!) { tenant(moniker: $s) { id } }", "{s}"),
    (
        "name",
        "mutation($i: CreateSubTenantInput!) { createSubTenant(input: $i) { userErrors { code } } }",
        {"parentId": "{root}", "name": "{s}", "moniker": "ok", "subscriptionTypes": ["INTEGRATED"]},
    ),
    (
        "key and reference",
        "mutation($i: TopUpAccountInput!) { topUpAccount(input: $i) { userErrors { code } } }",
        {"accountId": "{account}", "amount": "1", "idempotencyKey": "{s}", "reference": "{s}"},
    ),
    (
        "reason",
        "mutation($i: AdjustAccountInput!) { adjustAccount(input: $i) { userErrors { code } } }",
        {
            "accountId": "{account}",
            "direction": "CREDIT",
            "amount": "1",
            "reason": "{s}",
            "idempotencyKey": "k",
        },
    ),
    (
        "event id",
        "mutation($i: [UsageRecordInput!]!) { recordUsage(input: {records: $i}) { accepted } }",
        [
            {
                "eventId": "{s}",
                "endpointId": "{endpoint}",
                "kind": "DATA",
                "quantity": "1",
                "occurredAt": "2026-11-15T12:00:00+00:00",
            }
        ],
    ),
    (
        "impersonation reason",
        "mutation($i: StartImpersonationInput!) { startImpersonation(input: $i) { token } }",
        {"tenantId": "{root}", "reason": "{s}"},
    ),
]


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return values.get(template.strip("{}"), template) if template.startswith("{") else template
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template


@pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("query", "template"), [(q, t) for _, q, t in TEXT_INPUTS], ids=[n for n, _, _ in TEXT_INPUTS]
)
async def test_text_no_database_can_store_is_a_user_error(
    gql: GraphQLClient, world: World, query: str, template: Any, text: str
) -> None:
    variables = {
        "s" if query.startswith("query") else "i": fill(
            template,
            {
                "s": text,
                "root": gid("Tenant", world.root.id),
                "account": gid("Account", 1),
                "endpoint": gid("Endpoint", 1),
            },
        )
    }
    # JSON escapes the surrogate ("\ud800"), as a browser's JSON.stringify would send it.
    response = await gql.http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={
            "Authorization": f"Bearer {world.root_admin.token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("The text at $")
    assert error["message"].endswith(
        "contains a NUL character or an unpaired surrogate, which cannot be stored."
    )


async def test_unstorable_text_in_a_literal_is_a_user_error(
    gql: GraphQLClient, world: World
) -> None:
    body = await gql.execute(
        '{ tenants(search: "a\\u0000b") { totalCount } }', token=world.root_admin.token
    )
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "This string contains a NUL character or an unpaired surrogate, "
                "which cannot be stored.",
                "locations": [{"line": 1, "column": 19}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_the_error_names_where_the_text_is(gql: GraphQLClient, world: World) -> None:
    records = [
        {
            "eventId": "e" if i != 7 else NUL,
            "endpointId": gid("Endpoint", 1),
            "kind": "DATA",
            "quantity": "1",
            "occurredAt": "2026-11-15T12:00:00+00:00",
        }
        for i in range(10)
    ]
    body = await gql.execute(
        "mutation($r: [UsageRecordInput!]!) { recordUsage(input: {records: $r}) { accepted } }",
        {"r": records},
        token=world.root_admin.token,
    )
    assert body["errors"][0]["message"].startswith("The text at $r[7].eventId contains")


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("{ viewr { role } }", " Did you mean 'viewer'?"),
        ('{ tenant(monikr: "x") { id } }', " Did you mean 'moniker'?"),
        ("query($t: Tenat) { __typename }", " Did you mean 'Tenant', 'Float', or 'Int'?"),
    ],
)
async def test_anonymous_callers_get_no_suggestions(
    gql: GraphQLClient, world: World, query: str, suggestion: str
) -> None:
    anonymous = await gql.execute(query)
    authenticated = await gql.execute(query, token=world.a1_viewer.token)
    messages = [e["message"] for e in authenticated["errors"]]
    assert any(m.endswith(suggestion) for m in messages)
    assert [e["message"] for e in anonymous["errors"]] == [
        m.removesuffix(suggestion) for m in messages
    ]
    assert not any("Did you mean" in e["message"] for e in anonymous["errors"])

"""GraphQL over HTTP: the media type a client asks for, the status codes that come with it,
and a code on every error raised before execution (issue 13)."""

from typing import Any

import pytest

from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.world import World

GRAPHQL_RESPONSE = "application/graphql-response+json"
DEEP = "{ viewer { tenant { " + "parent { " * 15 + "id" + " }" * 15 + " } } }"
REQUEST_ERRORS = [
    ("{", None, "GRAPHQL_PARSE_FAILED"),
    ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($on: Boolean!) { __typename @include(if: $on) }", {"on": "x"}, "BAD_USER_INPUT"),
    (DEEP, None, "QUERY_TOO_DEEP"),
    ("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }", None, "TOO_MANY_ALIASES"),
    ("{ __typename " + "__typename " * 10_000 + "}", None, "TOO_MANY_TOKENS"),
    (
        "{ tenants(first: 100) { edges { node { customers(first: 100) { edges { node {"
        " endpoints(first: 100) { edges { node { id } } } } } } } } } }",
        None,
        "QUERY_TOO_COSTLY",
    ),
]


async def post(
    gql: GraphQLClient, query: str, variables: Any, accept: str | None, token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept is not None:
        headers["Accept"] = accept
    return await gql.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
async def test_a_request_error_is_a_400_without_data_in_the_new_media_type(
    gql: GraphQLClient, world: World, query: str, variables: Any, code: str
) -> None:
    response = await post(gql, query, variables, GRAPHQL_RESPONSE, world.root_admin.token)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
async def test_a_request_error_is_a_200_with_a_code_in_legacy_json(
    gql: GraphQLClient, world: World, query: str, variables: Any, code: str, accept: str | None
) -> None:
    response = await post(gql, query, variables, accept, world.root_admin.token)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


async def test_field_errors_after_execution_began_are_a_200_with_data(
    gql: GraphQLClient, world: World
) -> None:
    response = await post(
        gql,
        "{ viewer { role } tenant { id } }",
        None,
        GRAPHQL_RESPONSE,
        world.root_admin.token,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {"viewer": {"role": "ADMIN"}, "tenant": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_an_anonymous_request_for_data_is_a_401_in_the_new_media_type(
    gql: GraphQLClient,
) -> None:
    response = await post(gql, "{ viewer { role } }", None, GRAPHQL_RESPONSE)

    assert response.status_code == 401
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", "application/json"),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE};q=0.8", GRAPHQL_RESPONSE),
        ("text/html;q=0.1, */*", "application/json"),
        ("image/png", "application/json"),
    ],
)
async def test_the_answer_comes_in_the_media_type_the_client_prefers(
    gql: GraphQLClient, accept: str, media_type: str
) -> None:
    response = await post(gql, "{ __typename }", None, accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json()["data"] == {"__typename": "Query"}

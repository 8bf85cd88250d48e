"""Tokens: who may call, and what a token is."""

import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tenantry.auth.models import ApiToken
from tenantry.db.engine import Database
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.world import World
from tests.ids import gid

VIEWER = "{ viewer { role user { email } tenant { moniker } } }"


async def test_anonymous_may_ask_for_typename_and_introspection(gql: GraphQLClient) -> None:
    body = await gql.execute("{ __typename __schema { queryType { name } } }")
    assert body == {"data": {"__typename": "Query", "__schema": {"queryType": {"name": "Query"}}}}


async def test_anonymous_data_request_is_unauthenticated(gql: GraphQLClient, world: World) -> None:
    body = await gql.execute("{ __typename tenants { totalCount } }")
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_fragment_spread_does_not_hide_data_fields_from_the_guard(gql: GraphQLClient) -> None:
    body = await gql.execute("query { ...F } fragment F on Query { viewer { role } }")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_anonymous_mutation_is_unauthenticated(gql: GraphQLClient, world: World) -> None:
    body = await gql.execute(
        'mutation($id: ID!) { updateTenant(input: {id: $id, name: "x"}) { tenant { name } } }',
        {"id": gid("Tenant", world.a1.id)},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_bad_token_is_unauthenticated(gql: GraphQLClient, world: World) -> None:
    body = await gql.execute(VIEWER, token="tnt_not-a-real-token")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_viewer_shows_who_the_token_acts_as(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(VIEWER, token=world.a1_viewer.token)
    assert data["viewer"] == {
        "role": "VIEWER",
        "user": {"email": world.a1_viewer.user.email},
        "tenant": {"moniker": "a1"},
    }


CREATE_TOKEN = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    token apiToken { id name expiresAt revokedAt user { email } }
    userErrors { field code message }
  }
}"""

REVOKE = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { code } } }"


async def test_token_is_shown_once_stored_hashed_and_works(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    data = await gql.data(
        CREATE_TOKEN,
        {"input": {"userId": gid("User", world.a1_viewer.user.id), "name": "ci"}},
        token=world.a1_admin.token,
    )
    payload = data["createApiToken"]
    assert payload["userErrors"] == []
    secret = payload["token"]
    assert secret.startswith("tnt_")
    async with db.read() as session:
        stored = await session.scalar(sa.select(ApiToken.token_hash).where(ApiToken.name == "ci"))
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert (await gql.data(VIEWER, token=secret))["viewer"]["role"] == "VIEWER"
    # The token node never shows the secret again.
    node = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on ApiToken { name } } }",
        {"id": payload["apiToken"]["id"]},
        token=world.a1_admin.token,
    )
    assert node == {"node": {"name": "ci"}}


async def test_revoked_token_stops_working_at_once(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    created = await gql.data(
        CREATE_TOKEN,
        {"input": {"userId": gid("User", world.a1_viewer.user.id), "name": "soon revoked"}},
        token=world.a1_admin.token,
    )
    secret, token_id = (
        created["createApiToken"]["token"],
        created["createApiToken"]["apiToken"]["id"],
    )
    revoked = await gql.data(REVOKE, {"id": token_id}, token=world.a1_admin.token)
    assert revoked["revokeApiToken"]["userErrors"] == []
    assert revoked["revokeApiToken"]["apiToken"]["revokedAt"] is not None
    body = await gql.execute(VIEWER, token=secret)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_expired_token_is_unauthenticated(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    expires = datetime.now(UTC) + timedelta(hours=1)
    created = await gql.data(
        CREATE_TOKEN,
        {
            "input": {
                "userId": gid("User", world.a1_viewer.user.id),
                "name": "short",
                "expiresAt": expires.isoformat(),
            }
        },
        token=world.a1_admin.token,
    )
    secret = created["createApiToken"]["token"]
    assert (await gql.data(VIEWER, token=secret))["viewer"]["role"] == "VIEWER"
    async with db.write() as session:
        await session.execute(
            sa.update(ApiToken)
            .where(ApiToken.name == "short")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    body = await gql.execute(VIEWER, token=secret)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_token_expiry_in_the_past_is_invalid(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(
        CREATE_TOKEN,
        {
            "input": {
                "userId": gid("User", world.a1_viewer.user.id),
                "name": "x",
                "expiresAt": "2020-01-01T00:00:00+00:00",
            }
        },
        token=world.a1_admin.token,
    )
    assert data["createApiToken"]["token"] is None
    assert [(e["field"], e["code"]) for e in data["createApiToken"]["userErrors"]] == [
        (["input", "expiresAt"], "INVALID")
    ]


CREATE_USER = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { email role tenant { moniker } } userErrors { field code } }
}"""


async def test_admin_creates_users_in_its_subtree(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(
        CREATE_USER,
        {
            "input": {
                "tenantId": gid("Tenant", world.a1x.id),
                "email": "new@x.example",
                "name": "New",
                "role": "VIEWER",
            }
        },
        token=world.a1_admin.token,
    )
    assert data["createUser"] == {
        "user": {"email": "new@x.example", "role": "VIEWER", "tenant": {"moniker": "a1x"}},
        "userErrors": [],
    }


async def test_duplicate_email_in_a_tenant_is_taken_and_bad_email_invalid(
    gql: GraphQLClient, world: World
) -> None:
    variables = {
        "input": {
            "tenantId": gid("Tenant", world.a1.id),
            "email": world.a1_viewer.user.email.upper(),
            "name": "Dup",
            "role": "ADMIN",
        }
    }
    data = await gql.data(CREATE_USER, variables, token=world.a1_admin.token)
    assert [(e["field"], e["code"]) for e in data["createUser"]["userErrors"]] == [
        (["input", "email"], "TAKEN")
    ]
    variables["input"]["email"] = "not an email"
    variables["input"]["name"] = " "
    data = await gql.data(CREATE_USER, variables, token=world.a1_admin.token)
    assert sorted((e["field"][1], e["code"]) for e in data["createUser"]["userErrors"]) == [
        ("email", "INVALID"),
        ("name", "INVALID"),
    ]


async def test_viewer_may_not_mutate(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(
        CREATE_USER,
        {
            "input": {
                "tenantId": gid("Tenant", world.a1.id),
                "email": "v@x.example",
                "name": "V",
                "role": "ADMIN",
            }
        },
        token=world.a1_viewer.token,
    )
    assert data["createUser"]["user"] is None
    assert [e["code"] for e in data["createUser"]["userErrors"]] == ["FORBIDDEN"]
    revoke = await gql.data(
        REVOKE, {"id": gid("ApiToken", world.a1_admin.token_id)}, token=world.a1_viewer.token
    )
    assert [e["code"] for e in revoke["revokeApiToken"]["userErrors"]] == ["FORBIDDEN"]
    assert (await gql.data(VIEWER, token=world.a1_admin.token))["viewer"]["role"] == "ADMIN"

"""API conventions every feature keeps: ids, pages, limits, masking, batching."""

import logging
from pathlib import Path

import pytest

from tenantry.api.schema import build_schema
from tenantry.auth.models import Role
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.models import Tenant
from tests.fixtures.database import StatementCounter
from tests.fixtures.factories import create_actor, create_platform, create_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.world import World
from tests.ids import gid

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "garbage",
        "VGVuYW50",
        gid("Tenant", 999_999),
        gid("Nope", 1),
        gid("Tenant", 0) + "x",
        "VGVuYW50OmFiYw==",
    ],
)
async def test_bad_ids_are_null_not_errors(gql: GraphQLClient, world: World, bad_id: str) -> None:
    body = await gql.execute(
        "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }",
        {"id": bad_id},
        token=world.root_admin.token,
    )
    assert body == {"data": {"node": None, "nodes": [None]}}


async def test_node_round_trips_every_type(gql: GraphQLClient, world: World) -> None:
    ids = [
        gid("Tenant", world.a1.id),
        gid("User", world.a1_admin.user.id),
        gid("ApiToken", world.a1_admin.token_id),
    ]
    data = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": ids},
        token=world.root_admin.token,
    )
    assert [(n["__typename"], n["id"]) for n in data["nodes"]] == list(
        zip(["Tenant", "User", "ApiToken"], ids, strict=True)
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("first: 101", "'first' must be between 0 and 100; got 101."),
        ("first: -1", "'first' must be between 0 and 100; got -1."),
        ('after: "not-a-cursor"', "'after' is not a cursor this API gave out."),
    ],
)
async def test_page_arguments_are_checked(
    gql: GraphQLClient, world: World, args: str, message: str
) -> None:
    body = await gql.execute(
        f"{{ tenants({args}) {{ totalCount }} }}", token=world.root_admin.token
    )
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "BAD_USER_INPUT")
    ]


async def test_nested_page_size_is_capped_too(gql: GraphQLClient, world: World) -> None:
    body = await gql.execute(
        "{ viewer { tenant { subTenants(first: 1000) { totalCount } } } }",
        token=world.root_admin.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_depth_limit(gql: GraphQLClient, world: World) -> None:
    nested = "parent { " * 20 + "id" + " }" * 20
    body = await gql.execute(
        f"{{ viewer {{ tenant {{ {nested} }} }} }}", token=world.root_admin.token
    )
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_alias_limit(gql: GraphQLClient, world: World) -> None:
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(40))
    body = await gql.execute(f"{{ {aliases} }}", token=world.root_admin.token)
    assert "aliases" in body["errors"][0]["message"]


async def test_token_limit(gql: GraphQLClient, world: World) -> None:
    fields = " ".join("__typename" for _ in range(11_000))
    body = await gql.execute(f"{{ {fields} }}", token=world.root_admin.token)
    assert "token" in body["errors"][0]["message"].lower()


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    gql: GraphQLClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(tenants_repo, "visible_page", explode)
    # ``settingSources`` does not compile: the operation runs on the resolver path, which
    # fails.
    query = "{ tenants { totalCount edges { node { settingSources { name } } } } }"
    with caplog.at_level(logging.ERROR, logger="tenantry.api"):
        response = await gql.post(query, token=world.root_admin.token)
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["tenants"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
    ]
    assert "hunter2" not in response.text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None and "hunter2" in str(logged[0].exc_info[1])


async def test_validation_errors_keep_their_messages(gql: GraphQLClient, world: World) -> None:
    body = await gql.execute("{ tenants { nope } }", token=world.root_admin.token)
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]


async def _wide_tree(db: Database, parents: int, children: int) -> str:
    root, root_admin = await create_platform(db)
    for _ in range(parents):
        parent = await create_tenant(db, root, root_admin, root)
        for _ in range(children):
            child = await create_tenant(db, root, root_admin, parent)
            await create_tenant(db, root, root_admin, child)
    return (await create_actor(db, root, root_admin, root, Role.ADMIN)).token


NESTED = """{ tenants(first: 100) { totalCount edges { node { moniker parent { moniker }
  users { totalCount edges { node { email tenant { moniker } } } }
  subTenants(first: 50) { totalCount edges { node { moniker parent { moniker }
    subTenants { totalCount edges { node { moniker depth } } } } } } } } } }"""


async def test_statements_depend_on_depth_not_on_tenant_count(
    gql: GraphQLClient, db: Database, statements: StatementCounter
) -> None:
    counts = []
    for parents, children in ((2, 2), (6, 5)):
        token = await _wide_tree(db, parents, children)
        statements.statements.clear()
        data = await gql.data(NESTED, token=token)
        assert data["tenants"]["totalCount"] >= 1 + parents * (1 + 2 * children)
        counts.append(statements.count)
        await _truncate(db)
    assert counts[0] == counts[1], counts
    # auth + (page, count) of the top list + parent, users page/count, user tenants,
    # and per level of subTenants: page + count. Far below one statement per tenant.
    assert counts[1] <= 10, statements.statements


async def _truncate(db: Database) -> None:
    import sqlalchemy as sa

    from tests.fixtures.database import TABLES

    async with db.write() as session:
        await session.execute(sa.text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


def test_schema_graphql_is_current() -> None:
    exported = build_schema(Settings(database_url="unused")).as_str() + "\n"
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == exported, (
        "schema.graphql is stale: run `tenantry export-schema -o schema.graphql`"
    )


def test_every_table_with_tenant_data_has_the_tenant_column() -> None:
    from tenantry.db.models import metadata

    # Documents are content-addressed and shared by every caller; buckets are per token.
    platform_tables = {
        Tenant.__tablename__,
        "app_secrets",
        "persisted_queries",
        "rate_limit_buckets",
    }
    for table in metadata.sorted_tables:
        if table.name in platform_tables:
            continue
        assert "tenant_id" in table.c, f"{table.name} lacks tenant_id"


async def test_graphiql_is_served_without_a_cdn(gql: GraphQLClient) -> None:
    page = await gql.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "GraphiQL" in page.text
    assert "https://" not in page.text and "http://" not in page.text
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "graphiql-plugin-explorer.umd.js",
    ):
        assert f"/graphiql-assets/{asset}" in page.text
        response = await gql.http.get(f"/graphiql-assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 1000, asset


async def test_health_and_readiness(gql: GraphQLClient) -> None:
    assert (await gql.http.get("/healthz")).json() == {"status": "ok"}
    assert (await gql.http.get("/readyz")).json() == {"status": "ready"}


async def test_queries_work_over_get(gql: GraphQLClient, world: World) -> None:
    response = await gql.http.get(
        "/graphql",
        params={"query": "{ viewer { role } }"},
        headers={"Authorization": f"Bearer {world.root_admin.token}", "accept": "application/json"},
    )
    assert response.json()["data"] == {"viewer": {"role": "ADMIN"}}
    assert "errors" not in response.json()

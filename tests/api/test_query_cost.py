"""Query cost: counted before execution, refused over the budget, reported in ``extensions``."""

from typing import Any

import procrastinate
from graphql import get_introspection_query

from tenantry.app import create_app
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tests.fixtures.database import StatementCounter
from tests.fixtures.graphql import GraphQLClient, client_of
from tests.fixtures.world import World
from tests.ids import gid

# The attack: 30 aliases x tenants -> customers -> transactions + endpoints -> usage,
# every page at the largest size the API accepts.
ATTACK_BRANCH = """
  t{n}: tenants(first: 100) {{ edges {{ node {{ moniker
    customers(first: 100) {{ edges {{ node {{ name
      account {{ transactions(first: 100) {{ edges {{ node {{ amount {{ amount }} }} }} }} }}
      endpoints(first: 100) {{ edges {{ node {{ iccid
        usage(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") {{
          totals {{ kind quantity }} }} }} }} }}
    }} }} }}
  }} }} }}"""
ATTACK = "{" + "".join(ATTACK_BRANCH.format(n=n) for n in range(30)) + "}"
BUDGET = Settings.model_fields["max_query_cost"].default


async def _post(gql: GraphQLClient, query: str, token: str, **variables: Any) -> dict[str, Any]:
    response = await gql.post(query, variables, token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_nested_alias_attack_is_refused_before_it_runs(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    await _post(gql, "{ viewer { role } }", world.root_admin.token)
    authentication_only = statements.count
    body = await _post(gql, ATTACK, world.root_admin.token)
    assert statements.count == 2 * authentication_only  # nothing ran but authentication
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    # Per branch: 100 tenants, 10,000 customers with an account and 100 transactions each,
    # 1,000,000 endpoints with a usage summary of 3 totals each.
    per_branch = 100 + 100 * 100 * (1 + 1 + 100 + 100) + 100 * 100 * 100 * (1 + 3)
    assert error["extensions"]["cost"] == 30 * per_branch
    assert error["extensions"]["budget"] == BUDGET
    assert f"{30 * per_branch:,}" in error["message"] and f"{BUDGET:,}" in error["message"]
    assert body["extensions"] == {"cost": {"requested": 30 * per_branch, "budget": BUDGET}}


async def test_every_answer_reports_its_cost(gql: GraphQLClient, world: World) -> None:
    query = """query($n: Int, $skip: Boolean!) {
      tenants(first: $n) { totalCount edges { node { ...T } } }
      again: tenants(first: 2) { edges { node { moniker } } }
      viewer { tenant { moniker subTenants @skip(if: $skip) { totalCount } } }
    }
    fragment T on Tenant { moniker parent { moniker } ... on Tenant { users(first: 5) { edges { node { email } } } } }"""
    body = await _post(gql, query, world.root_admin.token, n=3, skip=True)
    assert "errors" not in body
    assert len(body["data"]["tenants"]["edges"]) == 3
    # tenants: 3 rows + 1 count; per tenant: a parent and 5 users; the alias: 2 more tenants;
    # the viewer's tenant: 1 (its skipped sub-tenants count nothing).
    assert body["extensions"] == {
        "cost": {"requested": 3 + 1 + 3 * (1 + 5) + 2 + 1, "budget": BUDGET}
    }

    counted = await _post(gql, query, world.root_admin.token, n=None, skip=False)
    # The default page size (20) when `first` is absent; sub-tenants: 1 connection of 20 + count.
    assert counted["extensions"]["cost"]["requested"] == 20 + 1 + 20 * 6 + 2 + 1 + 20 + 1


async def test_a_backward_page_counts_its_last(gql: GraphQLClient, world: World) -> None:
    query = """query($n: Int) { tenants(last: $n) { edges { node { moniker
        users(last: 5) { edges { node { email } } }
        both: customers(first: 30, last: 4) { edges { node { name } } } } } } }"""
    body = await _post(gql, query, world.root_admin.token, n=3)
    assert "errors" not in body
    edges = body["data"]["tenants"]["edges"]
    assert [e["node"]["moniker"] for e in edges] == ["a2", "b", "b1"]
    # 3 tenants; per tenant 5 users and 4 customers (the smaller of first and last).
    assert body["extensions"]["cost"]["requested"] == 3 + 3 * (5 + 4)
    over = await _post(gql, query, world.root_admin.token, n=100)
    assert over["extensions"]["cost"]["requested"] == 100 + 100 * (5 + 4)


async def test_node_counts_its_costliest_type(gql: GraphQLClient, world: World) -> None:
    query = """query($id: ID!) { node(id: $id) {
        ... on Tenant { customers(first: 10) { totalCount } }
        ... on Account { transactions(first: 50) { edges { node { kind } } } } } }"""
    body = await _post(gql, query, world.root_admin.token, id=gid("Tenant", world.a.id))
    assert body["data"] == {"node": {"customers": {"totalCount": 0}}}
    assert body["extensions"]["cost"]["requested"] == 1 + 50


async def test_the_budget_is_a_setting(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    settings = Settings(database_url=database_url, max_query_cost=21)
    async with client_of(create_app(settings, db=db, jobs=jobs)) as gql:
        at_budget = await _post(gql, "{ tenants { totalCount } }", world.root_admin.token)
        over = await _post(gql, "{ tenants(first: 21) { totalCount } }", world.root_admin.token)
    assert at_budget["data"] == {"tenants": {"totalCount": 7}}
    assert at_budget["extensions"] == {"cost": {"requested": 21, "budget": 21}}
    assert over["data"] is None
    assert [e["extensions"]["code"] for e in over["errors"]] == ["QUERY_TOO_COSTLY"]


async def test_introspection_costs_nothing(
    db: Database, database_url: str, jobs: procrastinate.App
) -> None:
    """GraphiQL's introspection query runs whatever the budget, with or without a token."""
    settings = Settings(database_url=database_url, max_query_cost=1)
    async with client_of(create_app(settings, db=db, jobs=jobs)) as gql:
        response = await gql.http.post("/graphql", json={"query": get_introspection_query()})
    body = response.json()
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert body["extensions"] == {"cost": {"requested": 0, "budget": 1}}


async def test_the_readme_walkthrough_fits_the_default_budget(
    gql: GraphQLClient, world: World
) -> None:
    query = """{ tenant(moniker: "a") { account { balance { amount } }
        usage(from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") {
          totals { kind quantity cost { amount } revenue { amount } } }
        customers { edges { node { name account { balance { amount } billingStatus } } } } } }"""
    body = await _post(gql, query, world.root_admin.token)
    assert "errors" not in body
    # The tenant, its account, its usage and 3 totals; 20 customers and their accounts.
    assert body["extensions"]["cost"]["requested"] == 1 + 1 + 1 + 3 + 20 + 20

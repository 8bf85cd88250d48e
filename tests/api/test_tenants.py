"""Creating, editing and reading tenants."""

from typing import Any

import pytest
import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.tenants.models import Tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.world import World
from tests.ids import gid

CREATE = """
mutation($input: CreateSubTenantInput!) {
  createSubTenant(input: $input) {
    tenant { id name moniker kind depth currency subscriptionTypes customerTopUpUrl
             inheritSponsorOperators parent { moniker } }
    userErrors { field message code }
  }
}"""

UPDATE = """
mutation($input: UpdateTenantInput!) {
  updateTenant(input: $input) {
    tenant { name moniker subscriptionTypes customerTopUpUrl inheritSponsorOperators }
    userErrors { field message code }
  }
}"""


def new_tenant(parent_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "input": {
            "parentId": gid("Tenant", parent_id),
            "name": "Stacuity",
            "moniker": "stacuity",
            "subscriptionTypes": ["INTEGRATED"],
            **overrides,
        }
    }


async def tenant_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(Tenant)) or 0)


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"][-1] if e["field"] else None, e["code"]) for e in payload["userErrors"]]


async def test_create_sub_tenant_inherits_currency(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(CREATE, new_tenant(world.a1.id), token=world.a1_admin.token)
    payload = data["createSubTenant"]
    assert payload["userErrors"] == []
    assert payload["tenant"] == {
        "id": payload["tenant"]["id"],
        "name": "Stacuity",
        "moniker": "stacuity",
        "kind": "SUB_TENANT",
        "depth": 3,
        "currency": "EUR",
        "subscriptionTypes": ["INTEGRATED"],
        "customerTopUpUrl": None,
        "inheritSponsorOperators": False,
        "parent": {"moniker": "a1"},
    }


async def test_create_with_own_currency_and_top_up_url(gql: GraphQLClient, world: World) -> None:
    url = "https://pay.example.com/topup?c={customer_id}&t={tenant_moniker}&cur={currency}"
    variables = new_tenant(
        world.a1.id,
        currency="SEK",
        customerTopUpUrl=url,
        subscriptionTypes=["STANDALONE", "INTEGRATED", "INTEGRATED"],
        inheritSponsorOperators=True,
    )
    tenant = (await gql.data(CREATE, variables, token=world.a1_admin.token))["createSubTenant"][
        "tenant"
    ]
    assert (tenant["currency"], tenant["customerTopUpUrl"]) == ("SEK", url)
    assert tenant["subscriptionTypes"] == ["INTEGRATED", "STANDALONE"]
    assert tenant["inheritSponsorOperators"] is True


@pytest.mark.parametrize(
    "moniker",
    ["Stacuity", "has space", "", "x" * 64, "dot.ted", "ünïcode", "semi;colon"],
)
async def test_bad_monikers_are_invalid(
    gql: GraphQLClient, db: Database, world: World, moniker: str
) -> None:
    before = await tenant_count(db)
    data = await gql.data(
        CREATE, new_tenant(world.a1.id, moniker=moniker), token=world.a1_admin.token
    )
    assert data["createSubTenant"]["tenant"] is None
    assert [(e["field"], e["code"]) for e in data["createSubTenant"]["userErrors"]] == [
        (["input", "moniker"], "INVALID")
    ]
    assert await tenant_count(db) == before


@pytest.mark.parametrize("moniker", ["a", "x" * 63, "under_score", "dash-ed", "0digits9"])
async def test_good_monikers_are_accepted(gql: GraphQLClient, world: World, moniker: str) -> None:
    variables = new_tenant(world.a1.id, moniker=moniker if moniker != "a" else "z")
    data = await gql.data(CREATE, variables, token=world.a1_admin.token)
    assert data["createSubTenant"]["userErrors"] == []


async def test_moniker_is_globally_unique(gql: GraphQLClient, db: Database, world: World) -> None:
    # "b1" lives in a part of the tree a1 cannot see; uniqueness is still global.
    before = await tenant_count(db)
    data = await gql.data(CREATE, new_tenant(world.a1.id, moniker="b1"), token=world.a1_admin.token)
    assert codes(data["createSubTenant"]) == [("moniker", "TAKEN")]
    assert await tenant_count(db) == before


async def test_every_problem_is_reported_together_and_nothing_is_written(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    before = await tenant_count(db)
    variables = new_tenant(
        world.a1.id,
        name="   ",
        moniker="Bad Moniker",
        subscriptionTypes=["STANDALONE"],
        currency="EURO",
        customerTopUpUrl="ftp://pay.example.com/{customer_id}",
    )
    payload = (await gql.data(CREATE, variables, token=world.a1_admin.token))["createSubTenant"]
    assert payload["tenant"] is None
    assert sorted(codes(payload)) == [
        ("currency", "INVALID"),
        ("customerTopUpUrl", "INVALID"),
        ("moniker", "INVALID"),
        ("name", "INVALID"),
        ("subscriptionTypes", "INVALID"),
    ]
    assert await tenant_count(db) == before


@pytest.mark.parametrize(
    "url",
    [
        "https://pay.example.com/?c={customer}",
        "https://pay.example.com/?c={customer_id!r}",
        "https://pay.example.com/?c={}",
        "https://pay.example.com/?c={customer_id",
        "/relative/{customer_id}",
        "javascript:alert({balance})",
    ],
)
async def test_bad_top_up_urls_are_refused(gql: GraphQLClient, world: World, url: str) -> None:
    data = await gql.data(
        CREATE, new_tenant(world.a1.id, customerTopUpUrl=url), token=world.a1_admin.token
    )
    assert codes(data["createSubTenant"]) == [("customerTopUpUrl", "INVALID")]


async def test_update_keeps_absent_fields_and_clears_null_ones(
    gql: GraphQLClient, world: World
) -> None:
    tid = gid("Tenant", world.a1x.id)
    url = "http://pay.example.com/{tenant_id}"
    first = await gql.data(
        UPDATE,
        {"input": {"id": tid, "customerTopUpUrl": url, "name": "Renamed"}},
        token=world.a1_admin.token,
    )
    assert first["updateTenant"]["tenant"]["customerTopUpUrl"] == url
    second = await gql.data(
        UPDATE, {"input": {"id": tid, "moniker": "a1x-renamed"}}, token=world.a1_admin.token
    )
    assert second["updateTenant"]["tenant"] == {
        "name": "Renamed",
        "moniker": "a1x-renamed",
        "subscriptionTypes": ["INTEGRATED"],
        "customerTopUpUrl": url,
        "inheritSponsorOperators": False,
    }
    cleared = await gql.data(
        UPDATE, {"input": {"id": tid, "customerTopUpUrl": None}}, token=world.a1_admin.token
    )
    assert cleared["updateTenant"]["tenant"]["customerTopUpUrl"] is None


async def test_update_follows_the_create_rules(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    tid = gid("Tenant", world.a1x.id)
    taken = await gql.data(
        UPDATE, {"input": {"id": tid, "moniker": "b1"}}, token=world.a1_admin.token
    )
    assert codes(taken["updateTenant"]) == [("moniker", "TAKEN")]
    bad = await gql.data(
        UPDATE,
        {"input": {"id": tid, "name": "Fine", "moniker": "UPPER", "subscriptionTypes": []}},
        token=world.a1_admin.token,
    )
    assert sorted(codes(bad["updateTenant"])) == [
        ("moniker", "INVALID"),
        ("subscriptionTypes", "INVALID"),
    ]
    async with db.read() as session:
        row = await session.get_one(Tenant, world.a1x.id)
    # Nothing of the refused edit was written, not even the valid name.
    assert (row.name, row.moniker, row.subscription_types) == (
        world.a1x.name,
        "a1x",
        ["INTEGRATED"],
    )


async def test_keeping_ones_own_moniker_is_not_taken(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(
        UPDATE,
        {"input": {"id": gid("Tenant", world.a1.id), "moniker": "a1"}},
        token=world.a1_admin.token,
    )
    assert data["updateTenant"]["userErrors"] == []


async def test_partner_access_is_only_for_managed_tenants(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(
        UPDATE,
        {"input": {"id": gid("Tenant", world.a1.id), "partnerAccess": True}},
        token=world.a1_admin.token,
    )
    assert codes(data["updateTenant"]) == [("partnerAccess", "INVALID")]


async def test_viewer_gets_forbidden_and_nothing_changes(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    before = await tenant_count(db)
    data = await gql.data(CREATE, new_tenant(world.a1.id), token=world.a1_viewer.token)
    assert codes(data["createSubTenant"]) == [(None, "FORBIDDEN")]
    update = await gql.data(
        UPDATE,
        {"input": {"id": gid("Tenant", world.a1.id), "name": "Nope"}},
        token=world.a1_viewer.token,
    )
    assert codes(update["updateTenant"]) == [(None, "FORBIDDEN")]
    assert await tenant_count(db) == before


async def test_tree_reads(gql: GraphQLClient, world: World) -> None:
    q = """{ tenant(moniker: "a") { depth kind parent { kind depth }
             subTenants { totalCount edges { node { moniker depth subTenants { totalCount } } } } } }"""
    data = await gql.data(q, token=world.root_admin.token)
    assert data["tenant"] == {
        "depth": 1,
        "kind": "SUB_TENANT",
        "parent": {"kind": "ROOT", "depth": 0},
        "subTenants": {
            "totalCount": 2,
            "edges": [
                {"node": {"moniker": "a1", "depth": 2, "subTenants": {"totalCount": 1}}},
                {"node": {"moniker": "a2", "depth": 2, "subTenants": {"totalCount": 0}}},
            ],
        },
    }


async def test_tenants_pages_with_cursors(gql: GraphQLClient, world: World) -> None:
    q = """query($after: String) { tenants(first: 3, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { moniker } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(q, {"after": after}, token=world.root_admin.token))["tenants"]
        assert page["totalCount"] == 7
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["moniker"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["platform", "a", "a1", "a1x", "a2", "b", "b1"]


async def test_search_matches_name_or_moniker(gql: GraphQLClient, world: World) -> None:
    q = "query($s: String) { tenants(search: $s) { edges { node { moniker } } } }"
    data = await gql.data(q, {"s": "A1"}, token=world.root_admin.token)
    assert [e["node"]["moniker"] for e in data["tenants"]["edges"]] == ["a1", "a1x"]
    # LIKE wildcards in the search are taken literally.
    assert (await gql.data(q, {"s": "%"}, token=world.root_admin.token))["tenants"]["edges"] == []


SOURCES = "query($id: ID!) { tenant(id: $id) { settingSources { name value inherited locked source { moniker } } } }"


def sources(data: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        s["name"]: (s["value"], s["inherited"], s["locked"], s["source"] and s["source"]["moniker"])
        for s in data["tenant"]["settingSources"]
    }


async def test_inherited_settings_say_where_they_come_from(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    await gql.data(
        UPDATE,
        {
            "input": {
                "id": gid("Tenant", world.a.id),
                "customerTopUpUrl": "https://pay.example/{customer_id}",
            }
        },
        token=root,
    )
    await gql.data(
        UPDATE,
        {"input": {"id": gid("Tenant", world.a1x.id), "inheritSponsorOperators": True}},
        token=root,
    )
    seen_by_root = sources(await gql.data(SOURCES, {"id": gid("Tenant", world.a1x.id)}, token=root))
    assert seen_by_root == {
        "currency": ("EUR", True, False, "a1"),
        "customerTopUpUrl": ("https://pay.example/{customer_id}", True, False, "a"),
        "sponsorOperators": ("own grants and the parent's", True, False, "a1"),
        "billingEntity": (None, False, False, "a1x"),
    }
    # a1's admin cannot see a: the value is there, where it comes from is not.
    seen_by_a1 = sources(
        await gql.data(SOURCES, {"id": gid("Tenant", world.a1x.id)}, token=world.a1_admin.token)
    )
    assert seen_by_a1["customerTopUpUrl"] == (
        "https://pay.example/{customer_id}",
        True,
        False,
        None,
    )
    own = sources(await gql.data(SOURCES, {"id": gid("Tenant", world.a.id)}, token=root))
    assert own["customerTopUpUrl"] == ("https://pay.example/{customer_id}", False, False, "a")

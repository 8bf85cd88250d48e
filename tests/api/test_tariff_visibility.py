"""A sub-tenant reads what it pays: its tenant tariff, its default customer tariff and its
customers' tariffs, read-only, with the owner null when it cannot see the owner; and nothing
else of its parent (its other tariffs, the parent itself, a sibling's tariff).

Acting as a1 (under a, under the platform; a2 is its sibling):
    a   owns "a charges a1" (a1's tenant tariff), "a default" (a1's default customer tariff),
        "a charges a2" (a2's tenant tariff) and "a spare" (used by nobody below a1)
    platform owns "root plan", which a1's customer pays (a customer tariff may be an
        ancestor's: the platform's admin assigned it)
    a2  owns "a2 own"
"""

from dataclasses import dataclass

import pytest

from tenantry.db.engine import Database
from tests.fixtures.factories import create_actor
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    codes,
    create_customer,
    create_tariff,
    only,
    per_mb,
    set_tenant,
)
from tests.fixtures.partners import PartnerWorld
from tests.fixtures.world import World
from tests.ids import gid, pk_of

TARIFF = "id name currency owner { moniker } rates { kind unitPrice increment minimum }"


@dataclass(frozen=True)
class Tariffs:
    a_charges_a1: str
    a_default: str
    a_charges_a2: str
    a_spare: str
    root_plan: str
    a2_own: str
    a1_own: str
    customer: str  # a1's customer on the root's plan


@pytest.fixture
async def tariffs(gql: GraphQLClient, world: World) -> Tariffs:
    root = world.root_admin.token
    made = Tariffs(
        a_charges_a1=await create_tariff(gql, root, world.a.id, per_mb("0.02"), name="a1 pays"),
        a_default=await create_tariff(gql, root, world.a.id, per_mb("0.05"), name="a default"),
        a_charges_a2=await create_tariff(gql, root, world.a.id, per_mb("0.03"), name="a2 pays"),
        a_spare=await create_tariff(gql, root, world.a.id, per_mb("0.04"), name="a spare"),
        root_plan=await create_tariff(gql, root, world.root.id, per_mb("0.06"), name="root"),
        a2_own=await create_tariff(gql, root, world.a2.id, per_mb("0.07"), name="a2 own"),
        a1_own=await create_tariff(gql, root, world.a1.id, per_mb("0.08"), name="a1 own"),
        customer="",
    )
    changes = {"tenantTariffId": made.a_charges_a1, "defaultCustomerTariffId": made.a_default}
    assert (await set_tenant(gql, root, world.a1.id, **changes))["userErrors"] == []
    assert (await set_tenant(gql, root, world.a2.id, tenantTariffId=made.a_charges_a2))[
        "userErrors"
    ] == []
    customer = only({"c": await create_customer(gql, root, world.a1.id, tariffId=made.root_plan)})[
        "customer"
    ]["id"]
    return Tariffs(**{**made.__dict__, "customer": customer})


async def test_a_sub_tenant_reads_the_tariffs_it_pays_with_their_owner_hidden(
    gql: GraphQLClient, world: World, tariffs: Tariffs
) -> None:
    data = await gql.data(
        f"""query($t: ID!, $c: ID!) {{ tenant(id: $t) {{ parent {{ id }}
              tenantTariff {{ {TARIFF} }} defaultCustomerTariff {{ {TARIFF} }} }}
              customer: node(id: $c) {{ ... on Customer {{ tariff {{ {TARIFF} }} }} }} }}""",
        {"t": gid("Tenant", world.a1.id), "c": tariffs.customer},
        token=world.a1_viewer.token,
    )
    rates = [
        {"kind": "DATA", "unitPrice": "0.02", "increment": "1", "minimum": "0"},
        {"kind": "SMS", "unitPrice": "0.0004", "increment": "1", "minimum": "0"},
    ]
    assert data["tenant"] == {
        "parent": None,
        "tenantTariff": {
            "id": tariffs.a_charges_a1,
            "name": "a1 pays",
            "currency": "EUR",
            "owner": None,
            "rates": rates,
        },
        "defaultCustomerTariff": {
            "id": tariffs.a_default,
            "name": "a default",
            "currency": "EUR",
            "owner": None,
            "rates": [{**rates[0], "unitPrice": "0.05"}, rates[1]],
        },
    }
    assert data["customer"]["tariff"] == {
        "id": tariffs.root_plan,
        "name": "root",
        "currency": "EUR",
        "owner": None,
        "rates": [{**rates[0], "unitPrice": "0.06"}, rates[1]],
    }
    # By id too; its own tariff shows its owner.
    nodes = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Tariff { name owner { moniker } } } }",
        {"ids": [tariffs.a_charges_a1, tariffs.a_default, tariffs.root_plan, tariffs.a1_own]},
        token=world.a1_viewer.token,
    )
    assert nodes["nodes"] == [
        {"name": "a1 pays", "owner": None},
        {"name": "a default", "owner": None},
        {"name": "root", "owner": None},
        {"name": "a1 own", "owner": {"moniker": "a1"}},
    ]


async def test_a_sub_tenant_sees_nothing_else_of_its_parent_nor_its_siblings_tariffs(
    gql: GraphQLClient, db: Database, world: World, tariffs: Tariffs
) -> None:
    hidden = [tariffs.a_spare, tariffs.a_charges_a2, tariffs.a2_own]
    data = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": hidden},
        token=world.a1_admin.token,
    )
    assert data["nodes"] == [None, None, None]
    # Its sub-tenant reads what it pays (a1's) but not what a1 pays (a's).
    sub = await set_tenant(gql, world.a1_admin.token, world.a1x.id, tenantTariffId=tariffs.a1_own)
    assert sub["userErrors"] == []
    a1x_admin = await create_actor(db, world.root, world.root_admin, world.a1x)
    a1x_sees = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Tariff { id owner { moniker } } } }",
        {"ids": [tariffs.a1_own, tariffs.a_charges_a1, tariffs.a_default]},
        token=a1x_admin.token,
    )
    assert a1x_sees["nodes"] == [{"id": tariffs.a1_own, "owner": None}, None, None]
    # A cousin reads none of them.
    cousin = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [tariffs.a_charges_a1, tariffs.a_default, tariffs.root_plan, tariffs.a1_own]},
        token=world.b1_admin.token,
    )
    assert cousin["nodes"] == [None] * 4


async def test_a_tariff_a_sub_tenant_only_reads_cannot_be_assigned_by_it(
    gql: GraphQLClient, world: World, tariffs: Tariffs
) -> None:
    token = world.a1_admin.token
    for tariff in (tariffs.a_charges_a1, tariffs.a_default, tariffs.root_plan):
        refused = await create_customer(gql, token, world.a1.id, tariffId=tariff)
        assert codes(refused) == [("input.tariffId", "FORBIDDEN")]
        default = await set_tenant(gql, token, world.a1x.id, defaultCustomerTariffId=tariff)
        assert codes(default) == [("input.defaultCustomerTariffId", "FORBIDDEN")]
    # One it cannot read at all is not found, like a bad id.
    unseen = await create_customer(gql, token, world.a1.id, tariffId=tariffs.a_spare)
    assert codes(unseen) == [("input.tariffId", "NOT_FOUND")]
    # Its own tariffs list holds only its own.
    own = await gql.data(
        "query($t: ID!) { tenant(id: $t) { tariffs { totalCount edges { node { id } } } } }",
        {"t": gid("Tenant", world.a1.id)},
        token=token,
    )
    assert own["tenant"]["tariffs"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": tariffs.a1_own}}],
    }
    # The platform's admin, who owns or sees them all, still assigns them.
    allowed = await create_customer(
        gql, world.root_admin.token, world.a1.id, tariffId=tariffs.a_default
    )
    assert allowed["userErrors"] == []


async def test_a_partner_still_sees_only_the_billing_face_and_the_managed_tenant_reads_its_tariff(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    root = partners.world.root_admin.token
    managed = pk_of(partners.managed_id)
    # The partner charges its managed tenant (USD), which prices its customers itself.
    charged = await create_tariff(gql, root, partners.partner.id, per_mb("0.02"), name="p charges")
    assert (await set_tenant(gql, root, managed, tenantTariffId=charged))["userErrors"] == []
    own = await create_tariff(gql, partners.managed_admin.token, managed, per_mb("0.09"), name="m")
    assert (
        await set_tenant(gql, partners.managed_admin.token, managed, defaultCustomerTariffId=own)
    )["userErrors"] == []
    assert (await create_customer(gql, partners.managed_admin.token, managed, tariffId=own))[
        "userErrors"
    ] == []
    q = """query($t: ID!, $ids: [ID!]!) { tenant(id: $t) { tenantTariff { name owner { moniker } }
             defaultCustomerTariff { name owner { moniker } } }
             nodes(ids: $ids) { ... on Tariff { name owner { moniker } } } }"""
    variables = {"t": partners.managed_id, "ids": [charged, own]}
    # The partner's admin: the managed tenant's tariffs are workspace, not billing face.
    partner = await gql.data(q, variables, token=partners.partner_admin.token)
    assert partner == {
        "tenant": {"tenantTariff": None, "defaultCustomerTariff": None},
        "nodes": [{"name": "p charges", "owner": {"moniker": "p"}}, None],
    }
    # The managed tenant reads what its partner charges it, without seeing the partner.
    tenant = await gql.data(q, variables, token=partners.managed_admin.token)
    assert tenant == {
        "tenant": {
            "tenantTariff": {"name": "p charges", "owner": None},
            "defaultCustomerTariff": {"name": "m", "owner": {"moniker": "acme-farms"}},
        },
        "nodes": [
            {"name": "p charges", "owner": None},
            {"name": "m", "owner": {"moniker": "acme-farms"}},
        ],
    }

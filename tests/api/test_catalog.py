"""Sponsor operators, tariffs and their assignment rules, customers and endpoints."""

from decimal import Decimal

import pytest

from tenantry.auth.models import Role
from tenantry.db.engine import Database
from tests.fixtures.factories import create_actor, create_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    codes,
    create_customer,
    create_endpoint,
    create_operator,
    create_tariff,
    only,
    set_tenant,
)
from tests.fixtures.world import World
from tests.ids import gid

DATA = [{"kind": "DATA", "unitPrice": "0.05", "increment": "1"}]
GRANT = """mutation($t: ID!, $ops: [ID!]!) { grantSponsorOperators(input: {tenantId: $t, sponsorOperatorIds: $ops}) {
  tenant { sponsorOperators { name } } userErrors { field code message } } }"""
OPERATORS = "query($id: ID!) { tenant(id: $id) { sponsorOperators { name } } }"


async def operators_of(gql: GraphQLClient, token: str, tenant_id: int) -> list[str]:
    data = await gql.data(OPERATORS, {"id": gid("Tenant", tenant_id)}, token=token)
    return [o["name"] for o in data["tenant"]["sponsorOperators"]]


async def test_operator_catalog_is_for_platform_admins(gql: GraphQLClient, world: World) -> None:
    await create_operator(gql, world.root_admin.token, "Vodafone")
    dup = await gql.data(
        'mutation { createSponsorOperator(input: {name: "vodafone"}) { userErrors { field code } } }',
        token=world.root_admin.token,
    )
    assert codes(dup["createSponsorOperator"]) == [("input.name", "TAKEN")]
    denied = await gql.refused(
        'mutation { createSponsorOperator(input: {name: "Telia"}) { userErrors { field code } } }',
        token=world.a1_admin.token,
    )
    assert denied == ["FORBIDDEN"]
    listed = await gql.data("{ sponsorOperators { name } }", token=world.a1_viewer.token)
    assert listed == {"sponsorOperators": [{"name": "Vodafone"}]}


async def test_operators_are_granted_down_and_inherited(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    root = world.root_admin.token
    vodafone = await create_operator(gql, root, "Vodafone")
    telia = await create_operator(gql, root, "Telia")
    assert await operators_of(gql, root, world.root.id) == ["Telia", "Vodafone"]
    assert only(
        await gql.data(GRANT, {"t": gid("Tenant", world.a.id), "ops": [vodafone]}, token=root)
    )
    assert await operators_of(gql, root, world.a.id) == ["Vodafone"]
    # a1 does not inherit by default; a1x inherits from a1 once a1 inherits from a.
    assert await operators_of(gql, root, world.a1.id) == []
    assert (await set_tenant(gql, root, world.a1.id, inheritSponsorOperators=True))[
        "userErrors"
    ] == []
    await set_tenant(gql, root, world.a1x.id, inheritSponsorOperators=True)
    assert await operators_of(gql, world.a1_admin.token, world.a1x.id) == ["Vodafone"]
    # Only what the parent has can be granted.
    refused = await gql.data(
        GRANT, {"t": gid("Tenant", world.a1.id), "ops": [vodafone, telia]}, token=root
    )
    assert codes(refused["grantSponsorOperators"]) == [("input.sponsorOperatorIds.1", "INVALID")]
    # A tenant cannot grant itself operators; its parent's admin can.
    own = await gql.data(
        GRANT, {"t": gid("Tenant", world.a1.id), "ops": [vodafone]}, token=world.a1_admin.token
    )
    assert codes(own["grantSponsorOperators"]) == [("input.tenantId", "FORBIDDEN")]
    a_admin = await create_actor(db, world.root, world.root_admin, world.a)
    assert only(
        await gql.data(
            GRANT, {"t": gid("Tenant", world.a1x.id), "ops": [vodafone]}, token=a_admin.token
        )
    )
    # Grants from outside one's scope are NOT_FOUND.
    hidden = await gql.data(
        GRANT, {"t": gid("Tenant", world.b1.id), "ops": [vodafone]}, token=world.a1_admin.token
    )
    assert codes(hidden["grantSponsorOperators"]) == [("input.tenantId", "NOT_FOUND")]


async def test_create_tariff_prices_in_the_owners_currency(
    gql: GraphQLClient, world: World
) -> None:
    data = await gql.data(
        """mutation($i: CreateTariffInput!) { createTariff(input: $i) { tariff { name currency owner { moniker }
             rates { kind unitPrice increment } monthlyFeePerEndpoint { amount currency } } userErrors { code } } }""",
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "Standard",
                "rates": [
                    {"kind": "VOICE", "unitPrice": "0.120000", "increment": "0.5"},
                    {"kind": "DATA", "unitPrice": "0.0004"},
                ],
                "monthlyFeePerEndpoint": "1.5",
            }
        },
        token=world.a1_admin.token,
    )
    assert only(data)["tariff"] == {
        "name": "Standard",
        "currency": "EUR",
        "owner": {"moniker": "a1"},
        "rates": [
            {"kind": "DATA", "unitPrice": "0.0004", "increment": "1"},
            {"kind": "VOICE", "unitPrice": "0.12", "increment": "0.5"},
        ],
        "monthlyFeePerEndpoint": {"amount": "1.50", "currency": "EUR"},
    }


async def test_bad_tariffs_are_refused_with_every_problem(gql: GraphQLClient, world: World) -> None:
    data = await gql.data(
        "mutation($i: CreateTariffInput!) { createTariff(input: $i) { tariff { id } userErrors { field code } } }",
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "",
                "rates": [
                    {"kind": "DATA", "unitPrice": "-1"},
                    {"kind": "DATA", "unitPrice": "0.0000001", "increment": "0"},
                ],
                "monthlyFeePerEndpoint": "1.005",
            }
        },
        token=world.a1_admin.token,
    )
    assert data["createTariff"]["tariff"] is None
    assert sorted(codes(data["createTariff"])) == [
        ("input.monthlyFeePerEndpoint", "INVALID"),
        ("input.name", "INVALID"),
        ("input.rates.0.unitPrice", "INVALID"),
        ("input.rates.1.increment", "INVALID"),
        ("input.rates.1.kind", "INVALID"),
        ("input.rates.1.unitPrice", "INVALID"),
    ]


async def test_tenant_tariff_must_be_the_parents_and_in_the_tenants_currency(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    root = world.root_admin.token
    a_tariff = await create_tariff(gql, root, world.a.id, DATA)
    b_tariff = await create_tariff(gql, root, world.b.id, DATA)
    assert (await set_tenant(gql, root, world.a1.id, tenantTariffId=a_tariff))["userErrors"] == []
    wrong_owner = await set_tenant(gql, root, world.a1.id, tenantTariffId=b_tariff)
    assert codes(wrong_owner) == [("input.tenantTariffId", "INVALID")]
    sek = await create_tenant(
        db, world.root, world.root_admin, world.a, moniker="a-sek", currency="SEK"
    )
    mismatch = await set_tenant(gql, root, sek.id, tenantTariffId=a_tariff)
    assert codes(mismatch) == [("input.tenantTariffId", "CURRENCY_MISMATCH")]
    # A tenant does not choose what its parent charges it.
    own = await set_tenant(gql, world.a1_admin.token, world.a1x.id, tenantTariffId=None)
    assert own["userErrors"] == []
    self_set = await set_tenant(gql, world.a1_admin.token, world.a1.id, tenantTariffId=None)
    assert codes(self_set) == [("input.tenantTariffId", "FORBIDDEN")]
    # Someone else's tariff is not found, like a bad id.
    hidden = await set_tenant(gql, world.a1_admin.token, world.a1x.id, tenantTariffId=b_tariff)
    assert codes(hidden) == [("input.tenantTariffId", "NOT_FOUND")]
    # Clearing works and means "free".
    cleared = await set_tenant(gql, root, world.a1.id, tenantTariffId=None)
    assert cleared["userErrors"] == []
    data = await gql.data(
        "query($id: ID!) { tenant(id: $id) { tenantTariff { id } } }",
        {"id": gid("Tenant", world.a1.id)},
        token=root,
    )
    assert data["tenant"]["tenantTariff"] is None


async def test_create_sub_tenant_with_tariffs(gql: GraphQLClient, world: World) -> None:
    parent_tariff = await create_tariff(gql, world.a1_admin.token, world.a1.id, DATA)
    data = await gql.data(
        """mutation($i: CreateSubTenantInput!) { createSubTenant(input: $i) {
             tenant { tenantTariff { id } defaultCustomerTariff { id } account { currency balance { amount } } }
             userErrors { field code } } }""",
        {
            "i": {
                "parentId": gid("Tenant", world.a1.id),
                "name": "Priced",
                "moniker": "priced",
                "subscriptionTypes": ["INTEGRATED"],
                "tenantTariffId": parent_tariff,
                "defaultCustomerTariffId": parent_tariff,
            }
        },
        token=world.a1_admin.token,
    )
    assert only(data)["tenant"] == {
        "tenantTariff": {"id": parent_tariff},
        "defaultCustomerTariff": {"id": parent_tariff},
        "account": {"currency": "EUR", "balance": {"amount": "0.00"}},
    }


async def test_default_customer_tariff_must_be_own_or_an_ancestors(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    ancestor = await create_tariff(gql, root, world.a.id, DATA)
    child = await create_tariff(gql, root, world.a1x.id, DATA)
    assert (await set_tenant(gql, root, world.a1.id, defaultCustomerTariffId=ancestor))[
        "userErrors"
    ] == []
    below = await set_tenant(gql, root, world.a1.id, defaultCustomerTariffId=child)
    assert codes(below) == [("input.defaultCustomerTariffId", "INVALID")]


async def test_customers_get_the_default_tariff_and_an_account(
    gql: GraphQLClient, world: World
) -> None:
    token = world.a1_admin.token
    default = await create_tariff(gql, token, world.a1.id, DATA)
    other = await create_tariff(gql, token, world.a1.id, DATA)
    await set_tenant(gql, world.root_admin.token, world.a1.id, defaultCustomerTariffId=default)
    plain = only({"createCustomer": await create_customer(gql, token, world.a1.id)})
    assert plain["customer"]["tariff"] == {"id": default}
    assert plain["customer"]["account"]["balance"] == {"amount": "0.00", "currency": "EUR"}
    chosen = await create_customer(gql, token, world.a1.id, tariffId=other)
    assert chosen["customer"]["tariff"] == {"id": other}
    refused = await create_customer(gql, token, world.a1.id, subscriptionType="STANDALONE")
    assert codes(refused) == [("input.subscriptionType", "INVALID")]
    viewer = await create_customer(gql, world.a1_viewer.token, world.a1.id)
    assert codes(viewer) == [("", "FORBIDDEN")]
    hidden = await create_customer(gql, token, world.b1.id)
    assert codes(hidden) == [("input.tenantId", "NOT_FOUND")]


async def test_endpoints_need_an_available_operator_and_a_unique_iccid(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    granted = await create_operator(gql, root, "Granted")
    other = await create_operator(gql, root, "Elsewhere")
    only(await gql.data(GRANT, {"t": gid("Tenant", world.a.id), "ops": [granted]}, token=root))
    only(await gql.data(GRANT, {"t": gid("Tenant", world.a1.id), "ops": [granted]}, token=root))
    customer = (await create_customer(gql, world.a1_admin.token, world.a1.id))["customer"]["id"]
    ok = await create_endpoint(
        gql, world.a1_admin.token, customer, granted, iccid="8944000000000000001"
    )
    assert ok["endpoint"]["sponsorOperator"] == {"name": "Granted"}
    again = await create_endpoint(
        gql, world.a1_admin.token, customer, granted, iccid="8944000000000000001"
    )
    assert codes(again) == [("input.iccid", "TAKEN")]
    bad = await create_endpoint(gql, world.a1_admin.token, customer, other, iccid="12ab")
    assert sorted(codes(bad)) == [
        ("input.iccid", "INVALID"),
        ("input.sponsorOperatorId", "INVALID"),
    ]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "https://pay.example.com/topup?c={customer_name}&t={tenant_moniker}&cur={currency}&b={balance}",
            "https://pay.example.com/topup?c=A%26B%20%2F%20C%C3%A9&t=a1x&cur=EUR&b=0.00",
        ),
    ],
)
async def test_top_up_url_is_rendered_from_the_nearest_template(
    gql: GraphQLClient, world: World, template: str, expected: str
) -> None:
    root = world.root_admin.token
    customer = (await create_customer(gql, world.a1_admin.token, world.a1x.id, name="A&B / Cé"))[
        "customer"
    ]
    query = "query($id: ID!) { node(id: $id) { ... on Customer { topUpUrl } } }"
    assert (await gql.data(query, {"id": customer["id"]}, token=root))["node"]["topUpUrl"] is None
    # The template lives on an ancestor the customer's tenant admin cannot even see.
    await set_tenant(gql, root, world.a.id, customerTopUpUrl=template)
    rendered = (await gql.data(query, {"id": customer["id"]}, token=world.a1_admin.token))["node"][
        "topUpUrl"
    ]
    assert rendered == expected
    # The nearest template wins.
    await set_tenant(gql, root, world.a1.id, customerTopUpUrl="http://a1.example/{customer_id}")
    nearer = (await gql.data(query, {"id": customer["id"]}, token=root))["node"]["topUpUrl"]
    assert nearer == "http://a1.example/" + customer["id"].replace("=", "%3D")


async def test_catalog_objects_of_other_tenants_are_invisible(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    root = world.root_admin.token
    tariff = await create_tariff(gql, root, world.b1.id, DATA)
    operator = await create_operator(gql, root, "Op")
    customer = (await create_customer(gql, root, world.b1.id))["customer"]
    b1_tenant_account = (
        await gql.data(
            "query($id: ID!) { tenant(id: $id) { account { id } } }",
            {"id": gid("Tenant", world.b1.id)},
            token=root,
        )
    )["tenant"]["account"]["id"]
    ids = [tariff, customer["id"], customer["account"]["id"], b1_tenant_account]
    data = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, token=world.a1_admin.token
    )
    assert data["nodes"] == [None, None, None, None]
    # The operator catalog is public: names only.
    assert (
        await gql.data(
            "query($id: ID!) { node(id: $id) { id } }", {"id": operator}, token=world.a1_admin.token
        )
    )["node"] == {"id": operator}
    assert Decimal("0") == Decimal(customer["account"]["balance"]["amount"])
    viewer = await create_actor(db, world.root, world.root_admin, world.b1, Role.VIEWER)
    assert (
        await gql.data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, token=viewer.token
        )
    )["nodes"] == [{"id": i} for i in ids]

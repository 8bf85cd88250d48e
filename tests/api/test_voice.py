"""Voice by the second: quantities in seconds, prices per minute, minimum and increment.

Tree (all EUR), one call per endpoint so that each call's charge at each level shows:
    platform <- a  pays 0.06/min, "60/60" (whole minutes)
    a        <- a1 pays 0.05/min, "0/1"   (per second, no minimum)
    a1       <- its customer pays 0.09/min, "60/1" (a first minute, then per second)
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tenantry.db.engine import Database
from tenantry.ledger.service import check_invariants
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import create_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    FROM,
    RECORD,
    TO,
    codes,
    create_customer,
    create_endpoint,
    create_operator,
    create_tariff,
    only,
    record,
    set_tenant,
)
from tests.fixtures.world import World
from tests.ids import gid

CALLS = {"short": "7", "over": "61", "long": "125"}


def voice(price: str, minimum: str, increment: str) -> list[dict[str, str]]:
    return [{"kind": "VOICE", "unitPrice": price, "minimum": minimum, "increment": increment}]


GRANT = """mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t, sponsorOperatorIds: [$o]}) {
  userErrors { code } } }"""


@dataclass(frozen=True)
class Line:
    customer_id: str
    endpoints: dict[str, str]  # call name -> endpoint id


async def customer_with_endpoints(
    gql: GraphQLClient, token: str, tenants: list[Tenant], tariff: str, names: list[str]
) -> Line:
    """A customer of the last tenant, paying ``tariff``, with one endpoint per name."""
    operator = await create_operator(gql, token, f"Op {tenants[-1].moniker}")
    for tenant in tenants:
        await gql.data(GRANT, {"t": gid("Tenant", tenant.id), "o": operator}, token=token)
    customer = (await create_customer(gql, token, tenants[-1].id, tariffId=tariff))["customer"]
    endpoints = {
        name: (await create_endpoint(gql, token, customer["id"], operator))["endpoint"]["id"]
        for name in names
    }
    return Line(customer["id"], endpoints)


async def record_calls(gql: GraphQLClient, token: str, line: Line, calls: dict[str, str]) -> None:
    records = [
        record(line.endpoints[name], f"call-{line.customer_id}-{name}", seconds, "VOICE")
        for name, seconds in calls.items()
    ]
    data = await gql.data(RECORD, {"r": records}, token=token)
    assert data["recordUsage"] == {"accepted": len(records), "duplicates": 0, "userErrors": []}


USAGE = """query($id: ID!, $from: DateTime!, $to: DateTime!) { tenant(id: $id) {
  usage(from: $from, to: $to, includeDescendants: true) {
    totals { kind quantity cost { amount currency } revenue { amount } }
    endpoints(first: 50) { edges { node { quantity cost { amount } endpoint { id } } } } } } }"""


async def costs_by_call(
    gql: GraphQLClient, token: str, tenant: Tenant, line: Line
) -> dict[str, tuple[str, str]]:
    """Per call: (seconds recorded, what ``tenant`` paid for it)."""
    data = await gql.data(
        USAGE, {"id": gid("Tenant", tenant.id), "from": FROM, "to": TO}, token=token
    )
    names = {endpoint: name for name, endpoint in line.endpoints.items()}
    return {
        names[edge["node"]["endpoint"]["id"]]: (
            edge["node"]["quantity"],
            edge["node"]["cost"]["amount"],
        )
        for edge in data["tenant"]["usage"]["endpoints"]["edges"]
    }


async def customer_costs(gql: GraphQLClient, token: str, line: Line) -> dict[str, Any]:
    """Per call: what the customer paid for it."""
    data = await gql.data(
        """query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Customer {
             endpoints(first: 10) { edges { node { id usage(from: $from, to: $to) {
               totals { cost { amount currency } } } } } } } } }""",
        {"id": line.customer_id, "from": FROM, "to": TO},
        token=token,
    )
    names = {endpoint: name for name, endpoint in line.endpoints.items()}
    return {
        names[edge["node"]["id"]]: edge["node"]["usage"]["totals"][0]["cost"]
        for edge in data["node"]["endpoints"]["edges"]
    }


async def balance(gql: GraphQLClient, token: str, node_id: str) -> str:
    data = await gql.data(
        """query($id: ID!) { node(id: $id) { ... on Tenant { account { balance { amount } } }
             ... on Customer { account { balance { amount } } } } }""",
        {"id": node_id},
        token=token,
    )
    amount: str = data["node"]["account"]["balance"]["amount"]
    return amount


@pytest.fixture
async def voice_line(gql: GraphQLClient, world: World) -> Line:
    root = world.root_admin.token
    to_root = await create_tariff(gql, root, world.root.id, voice("0.06", "60", "60"))
    await set_tenant(gql, root, world.a.id, tenantTariffId=to_root)
    to_a = await create_tariff(gql, root, world.a.id, voice("0.05", "0", "1"))
    await set_tenant(gql, root, world.a1.id, tenantTariffId=to_a)
    to_a1 = await create_tariff(gql, root, world.a1.id, voice("0.09", "60", "1"))
    return await customer_with_endpoints(gql, root, [world.a, world.a1], to_a1, [*CALLS, "silent"])


async def test_voice_is_billed_by_the_second_with_minimum_and_increment_at_every_level(
    gql: GraphQLClient, db: Database, world: World, voice_line: Line
) -> None:
    root = world.root_admin.token
    await record_calls(gql, root, voice_line, {**CALLS, "silent": "0"})

    # The customer pays a1, "60/1" at 0.09/min (0.0015/s): 7 s bills the minimum 60 s = 0.09;
    # 61 s = 0.0915; 125 s = 0.1875. A call of 0 s bills nothing.
    eur = {
        name: {"amount": amount, "currency": "EUR"}
        for name, amount in [
            ("short", "0.09"),
            ("over", "0.0915"),
            ("long", "0.1875"),
            ("silent", "0.00"),
        ]
    }
    assert await customer_costs(gql, root, voice_line) == eur
    # a1 pays a per second at 0.05/min, kept at 6 places, half-up: 7 s = 0.0058333... =
    # 0.005833; 61 s = 0.0508333... = 0.050833; 125 s = 0.1041666... = 0.104167.
    assert await costs_by_call(gql, root, world.a1, voice_line) == {
        "short": ("7", "0.005833"),
        "over": ("61", "0.050833"),
        "long": ("125", "0.104167"),
        "silent": ("0", "0.00"),
    }
    # a pays the platform in whole minutes at 0.06/min: 7 s = 1 min, 61 s = 2, 125 s = 3.
    assert await costs_by_call(gql, root, world.a, voice_line) == {
        "short": ("7", "0.06"),
        "over": ("61", "0.12"),
        "long": ("125", "0.18"),
        "silent": ("0", "0.00"),
    }
    data = await gql.data(
        USAGE, {"id": gid("Tenant", world.a1.id), "from": FROM, "to": TO}, token=root
    )
    assert data["tenant"]["usage"]["totals"] == [
        {
            "kind": "VOICE",
            "quantity": "193",
            "cost": {"amount": "0.160833", "currency": "EUR"},
            "revenue": {"amount": "0.369"},
        }
    ]
    # Balances: the customer paid 0.369; a1 kept 0.369 - 0.160833; a kept 0.160833 - 0.36.
    assert await balance(gql, root, voice_line.customer_id) == "-0.369"
    assert await balance(gql, root, gid("Tenant", world.a1.id)) == "0.208167"
    assert await balance(gql, root, gid("Tenant", world.a.id)) == "-0.199167"
    assert await balance(gql, root, gid("Tenant", world.root.id)) == "0.36"
    async with db.read() as session:
        assert await check_invariants(session) == []


@pytest.mark.parametrize(
    ("currency", "rate", "calls", "expected", "total"),
    [
        # Whole minutes at 10 JPY/min: 7 s = 1 min, 61 s = 2, 125 s = 3.
        ("JPY", voice("10", "60", "60"), CALLS, {"short": "10", "over": "20", "long": "30"}, "60"),
        # 3 JPY/min per second after the first minute: 61 s = 3.05; 125 s = 6.25.
        (
            "JPY",
            voice("3", "60", "1"),
            CALLS,
            {"short": "3", "over": "3.05", "long": "6.25"},
            "12.3",
        ),
        # 0.125 BHD/min, "60/1": 61 s = 0.12708333... = 0.127083; 125 s = 0.2604166... = 0.260417.
        (
            "BHD",
            voice("0.125", "60", "1"),
            CALLS,
            {"short": "0.125", "over": "0.127083", "long": "0.260417"},
            "0.5125",
        ),
        # "30/6" at 0.2 BHD/min: 7 s bills 30 s = 0.1; 61 s bills 66 s = 0.22; 125 s bills 126 s.
        (
            "BHD",
            voice("0.2", "30", "6"),
            CALLS,
            {"short": "0.100", "over": "0.220", "long": "0.420"},
            "0.740",
        ),
    ],
)
async def test_voice_in_other_currencies(
    gql: GraphQLClient,
    db: Database,
    world: World,
    currency: str,
    rate: list[dict[str, str]],
    calls: dict[str, str],
    expected: dict[str, str],
    total: str,
) -> None:
    root = world.root_admin.token
    tenant = await create_tenant(
        db, world.root, world.root_admin, world.root, moniker="v", currency=currency
    )
    tariff = await create_tariff(gql, root, tenant.id, rate)
    line = await customer_with_endpoints(gql, root, [tenant], tariff, list(calls))
    await record_calls(gql, root, line, calls)
    per_call = await customer_costs(gql, root, line)
    assert per_call == {
        name: {"amount": amount, "currency": currency} for name, amount in expected.items()
    }
    assert await balance(gql, root, line.customer_id) == f"-{total}"
    async with db.read() as session:
        assert await check_invariants(session) == []


async def test_rates_show_their_minimum_and_default_to_none(
    gql: GraphQLClient, world: World
) -> None:
    data = await gql.data(
        """mutation($i: CreateTariffInput!) { createTariff(input: $i) { tariff {
             rates { kind unitPrice increment minimum } } userErrors { code } } }""",
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "Voice",
                "rates": [
                    {"kind": "VOICE", "unitPrice": "0.05", "minimum": "60.000", "increment": "1"},
                    {"kind": "DATA", "unitPrice": "0.01"},
                ],
            }
        },
        token=world.a1_admin.token,
    )
    assert only(data)["tariff"]["rates"] == [
        {"kind": "DATA", "unitPrice": "0.01", "increment": "1", "minimum": "0"},
        {"kind": "VOICE", "unitPrice": "0.05", "increment": "1", "minimum": "60"},
    ]


@pytest.mark.parametrize(
    ("minimum", "code"),
    [
        ("-1", "INVALID"),
        ("0.0000001", "INVALID"),
        (str(Decimal(10) ** 12 + 1), "LIMIT_EXCEEDED"),
    ],
)
async def test_a_bad_minimum_is_refused(
    gql: GraphQLClient, world: World, minimum: str, code: str
) -> None:
    data: dict[str, Any] = await gql.data(
        "mutation($i: CreateTariffInput!) { createTariff(input: $i) { tariff { id } userErrors { field code } } }",
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "Voice",
                "rates": voice("0.05", minimum, "1"),
            }
        },
        token=world.a1_admin.token,
    )
    assert data["createTariff"]["tariff"] is None
    assert codes(data["createTariff"]) == [("input.rates.0.minimum", code)]

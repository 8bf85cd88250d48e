"""Money bounds (ledger/limits.py): refused with LIMIT_EXCEEDED before anything is written,
and no legal operation can make a later legal one fail."""

from typing import Any

import pytest
import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.ledger.models import Account, Posting, SystemPurpose
from tests.api.test_accounts import ADJUST, LIMITS, account_of, top_up
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    RECORD,
    Priced,
    codes,
    create_customer,
    create_endpoint,
    record,
)
from tests.fixtures.world import World
from tests.ids import gid

TARIFF = """mutation($i: CreateTariffInput!) { createTariff(input: $i) {
  tariff { id } userErrors { field code message } } }"""


async def test_the_funding_attack_is_refused_and_top_ups_keep_working(
    gql: GraphQLClient, world: World
) -> None:
    """The issue's attack: one top-up that would have pushed FUNDING to about -10^18."""
    customer = (await create_customer(gql, world.a1_admin.token, world.a1.id))["customer"]
    account = customer["account"]["id"]
    attack = await top_up(gql, world.a1_admin.token, account, "999999999999896929.47", "a")
    assert codes(attack) == [("input.amount", "LIMIT_EXCEEDED")]
    assert attack["account"] is None
    other = await account_of(gql, world.root_admin.token, world.b1.id)
    normal = await top_up(gql, world.root_admin.token, other, "10.00", "n")
    assert normal["userErrors"] == []
    assert normal["account"]["balance"]["amount"] == "10.00"


async def test_the_largest_legal_top_ups_never_stop_later_ones(
    gql: GraphQLClient, world: World
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    for key in ("1", "2", "3"):
        payload = await top_up(gql, world.a1_admin.token, account, "1000000000000", key)
        assert payload["userErrors"] == []
    assert payload["account"]["balance"]["amount"] == "3000000000000.00"
    assert (await top_up(gql, world.root_admin.token, account, "0.01", "4"))["userErrors"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"creditLimit": "100000000000000000"}, "input.creditLimit"),  # 1E+17, written out
        ({"creditLimit": "1000000000000.01"}, "input.creditLimit"),
        ({"lowBalanceThreshold": "-1000000000000.01"}, "input.lowBalanceThreshold"),
        ({"lowBalanceThreshold": "99999999999999999"}, "input.lowBalanceThreshold"),
    ],
)
async def test_account_limits_have_bounds(
    gql: GraphQLClient, world: World, changes: dict[str, str], field: str
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    data = await gql.data(LIMITS, {"i": {"id": account, **changes}}, token=world.a1_admin.token)
    assert codes(data["updateAccount"]) == [(field, "LIMIT_EXCEEDED")]
    data = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Account { creditLimit { amount } } } }",
        {"id": account},
        token=world.a1_admin.token,
    )
    assert data["node"]["creditLimit"]["amount"] == "0.00"


async def test_credit_limit_1e17_is_refused(gql: GraphQLClient, world: World) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    body = await gql.execute(
        LIMITS, {"i": {"id": account, "creditLimit": "1E+17"}}, token=world.a1_admin.token
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("direction", ["CREDIT", "DEBIT"])
async def test_adjustments_have_a_bound(gql: GraphQLClient, world: World, direction: str) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    data = await gql.data(
        ADJUST,
        {
            "i": {
                "accountId": account,
                "direction": direction,
                "amount": "1000000000000.01",
                "reason": "big",
                "idempotencyKey": "k",
            }
        },
        token=world.a1_admin.token,
    )
    assert codes(data["adjustAccount"]) == [("input.amount", "LIMIT_EXCEEDED")]


async def test_prices_and_fees_have_bounds(gql: GraphQLClient, world: World) -> None:
    too_much = "1000000000000.000001"
    data = await gql.data(
        TARIFF,
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "Dear",
                "rates": [
                    {"kind": "DATA", "unitPrice": too_much},
                    {"kind": "SMS", "unitPrice": "1", "increment": "1000000000001"},
                ],
                "monthlyFeePerEndpoint": "1000000000000.01",
            }
        },
        token=world.a1_admin.token,
    )
    assert codes(data["createTariff"]) == [
        ("input.rates.0.unitPrice", "LIMIT_EXCEEDED"),
        ("input.rates.1.increment", "LIMIT_EXCEEDED"),
        ("input.monthlyFeePerEndpoint", "LIMIT_EXCEEDED"),
    ]


async def _dear_endpoint(gql: GraphQLClient, world: World, price: str) -> dict[str, Any]:
    """An endpoint under a1 whose customer pays ``price`` per MB (the priced tree above)."""
    root = world.root_admin.token
    data = await gql.data(
        TARIFF,
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "Dear",
                "rates": [{"kind": "DATA", "unitPrice": price}],
            }
        },
        token=root,
    )
    tariff = data["createTariff"]["tariff"]["id"]
    operators = await gql.data("{ sponsorOperators { id } }", token=root)
    customer = (await create_customer(gql, root, world.a1.id, tariffId=tariff))["customer"]
    endpoint = await create_endpoint(
        gql, root, customer["id"], operators["sponsorOperators"][0]["id"]
    )
    return {"endpoint": endpoint["endpoint"]["id"], "account": customer["account"]["id"]}


async def test_a_usage_charge_past_the_bound_is_refused_by_index(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    """The issue's case: a charge past 10^18 failed the whole batch as an unexpected error."""
    dear = await _dear_endpoint(gql, world, "1000000000000")
    batch = [
        record(priced.endpoint_id, "cheap", "1"),
        record(dear["endpoint"], "huge", "10000000"),  # 10^19
        record(dear["endpoint"], "at-bound", "1"),  # exactly 10^12: allowed
        record(dear["endpoint"], "over", "1.000001"),
    ]
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 0
    assert codes(data["recordUsage"]) == [
        ("input.records.1.quantity", "LIMIT_EXCEEDED"),
        ("input.records.3.quantity", "LIMIT_EXCEEDED"),
    ]
    data = await gql.data(RECORD, {"r": [batch[0], batch[2]]}, token=world.root_admin.token)
    assert data["recordUsage"] == {"accepted": 2, "duplicates": 0, "userErrors": []}


async def test_usage_that_would_carry_an_account_past_its_bound_is_refused(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    """1,000 charges of 10^12 take the customer to -10^15, the bound; the 1,001st passes it."""
    dear = await _dear_endpoint(gql, world, "1000000000000")
    batch = [record(dear["endpoint"], f"e{i}", "1") for i in range(1001)]
    batch.insert(0, record(priced.endpoint_id, "cheap", "1"))
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 0
    assert codes(data["recordUsage"]) == [("input.records.1001", "LIMIT_EXCEEDED")]

    data = await gql.data(RECORD, {"r": batch[:1001]}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 1001
    data = await gql.data(RECORD, {"r": batch[1001:]}, token=world.root_admin.token)
    assert codes(data["recordUsage"]) == [("input.records.0", "LIMIT_EXCEEDED")]
    balance = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Account { balance { amount } } } }",
        {"id": dear["account"]},
        token=world.root_admin.token,
    )
    assert balance["node"]["balance"]["amount"] == "-1000000000000000.00"
    # Money can still move back towards zero.
    payload = await top_up(gql, world.a1_admin.token, dear["account"], "1000000000000", "back")
    assert payload["userErrors"] == []


async def test_system_accounts_are_not_read_through_the_api(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    """They store no balance (their balance is the sum of their postings): not an Account."""
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    posting = (await top_up(gql, world.root_admin.token, account, "1.00", "k"))["transaction"]
    async with db.read() as session:
        funding = await session.scalar(
            sa.select(Account).where(Account.system_purpose == SystemPurpose.FUNDING)
        )
        assert funding is not None
        system_posting = await session.scalar(
            sa.select(Posting.id).where(Posting.account_id == funding.id)
        )
    data = await gql.data(
        """query($ids: [ID!]!) { nodes(ids: $ids) {
             ... on Account { balance { amount } }
             ... on AccountTransaction { balanceAfter { amount } } } }""",
        {
            "ids": [
                gid("Account", funding.id),
                gid("AccountTransaction", system_posting),
                posting["id"],
            ]
        },
        token=world.root_admin.token,
    )
    assert data["nodes"] == [None, None, {"balanceAfter": {"amount": "1.00"}}]

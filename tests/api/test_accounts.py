"""The Account tab over HTTP: balances, top-ups, adjustments, limits, history."""

from typing import Any

from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import codes, create_customer
from tests.fixtures.world import World
from tests.ids import gid

TOP_UP = """mutation($i: TopUpAccountInput!) { topUpAccount(input: $i) {
  account { balance { amount currency } billingStatus }
  transaction { id kind amount { amount } balanceAfter { amount } reference actor { email } }
  userErrors { field code message } } }"""
ADJUST = """mutation($i: AdjustAccountInput!) { adjustAccount(input: $i) {
  account { balance { amount } billingStatus } transaction { kind amount { amount } description }
  userErrors { field code } } }"""
LIMITS = """mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
  account { creditLimit { amount } lowBalanceThreshold { amount } billingStatus } userErrors { field code } } }"""


async def account_of(gql: GraphQLClient, token: str, tenant_id: int) -> str:
    data = await gql.data(
        "query($id: ID!) { tenant(id: $id) { account { id } } }",
        {"id": gid("Tenant", tenant_id)},
        token=token,
    )
    account_id: str = data["tenant"]["account"]["id"]
    return account_id


async def top_up(
    gql: GraphQLClient, token: str, account: str, amount: str, key: str, **extra: Any
) -> dict[str, Any]:
    data = await gql.data(
        TOP_UP,
        {"i": {"accountId": account, "amount": amount, "idempotencyKey": key, **extra}},
        token=token,
    )
    payload: dict[str, Any] = data["topUpAccount"]
    return payload


async def test_top_up_by_an_ancestor_moves_money_once(gql: GraphQLClient, world: World) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    first = await top_up(gql, world.a1_admin.token, account, "25.50", "pay-1", reference="INV-7")
    assert first["userErrors"] == []
    assert first["account"] == {
        "balance": {"amount": "25.50", "currency": "EUR"},
        "billingStatus": "ACTIVE",
    }
    assert first["transaction"]["kind"] == "TOP_UP"
    assert first["transaction"]["amount"] == {"amount": "25.50"}
    assert first["transaction"]["actor"] == {"email": world.a1_admin.user.email}
    assert first["transaction"]["reference"] == "INV-7"
    retry = await top_up(gql, world.a1_admin.token, account, "25.5", "pay-1", reference="INV-7")
    assert retry["transaction"]["id"] == first["transaction"]["id"]
    assert retry["account"]["balance"]["amount"] == "25.50"
    reused = await top_up(gql, world.a1_admin.token, account, "30", "pay-1", reference="INV-7")
    assert codes(reused) == [("input.idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]


async def test_who_may_top_up(gql: GraphQLClient, world: World) -> None:
    own = await account_of(gql, world.a1_admin.token, world.a1.id)
    assert codes(await top_up(gql, world.a1_admin.token, own, "1", "k")) == [
        ("input.accountId", "FORBIDDEN")
    ]
    below = await account_of(gql, world.a1_admin.token, world.a1x.id)
    assert codes(await top_up(gql, world.a1_viewer.token, below, "1", "k")) == [("", "FORBIDDEN")]
    sibling = await account_of(gql, world.root_admin.token, world.a2.id)
    hidden = await top_up(gql, world.a1_admin.token, sibling, "1", "k")
    bad_id = await top_up(gql, world.a1_admin.token, gid("Account", 999_999), "1", "k")
    assert codes(hidden) == codes(bad_id) == [("input.accountId", "NOT_FOUND")]
    assert hidden["userErrors"][0]["message"] == bad_id["userErrors"][0]["message"]
    # A customer account is topped up by its own tenant's admin.
    customer = (await create_customer(gql, world.a1_admin.token, world.a1.id))["customer"]
    assert (await top_up(gql, world.a1_admin.token, customer["account"]["id"], "5", "c"))[
        "userErrors"
    ] == []


async def test_amounts_are_positive_and_in_currency_precision(
    gql: GraphQLClient, world: World
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1.id)
    bad = await top_up(gql, world.root_admin.token, account, "10.005", " ")
    assert sorted(codes(bad)) == [("input.amount", "INVALID"), ("input.idempotencyKey", "INVALID")]
    assert codes(await top_up(gql, world.root_admin.token, account, "-1", "k")) == [
        ("input.amount", "INVALID")
    ]


async def test_debits_stop_at_the_credit_limit_and_status_follows(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    account = await account_of(gql, root, world.a1.id)
    await top_up(gql, root, account, "10", "t")
    limits = await gql.data(
        LIMITS, {"i": {"id": account, "creditLimit": "5", "lowBalanceThreshold": "3"}}, token=root
    )
    assert limits["updateAccount"] == {
        "account": {
            "creditLimit": {"amount": "5.00"},
            "lowBalanceThreshold": {"amount": "3.00"},
            "billingStatus": "ACTIVE",
        },
        "userErrors": [],
    }

    async def debit(amount: str, key: str) -> dict[str, Any]:
        data = await gql.data(
            ADJUST,
            {
                "i": {
                    "accountId": account,
                    "direction": "DEBIT",
                    "amount": amount,
                    "reason": "Late fee",
                    "idempotencyKey": key,
                }
            },
            token=root,
        )
        payload: dict[str, Any] = data["adjustAccount"]
        return payload

    low = await debit("8", "d1")
    assert low["account"] == {"balance": {"amount": "2.00"}, "billingStatus": "LOW_BALANCE"}
    assert low["transaction"] == {
        "kind": "DEBIT",
        "amount": {"amount": "-8.00"},
        "description": "Late fee",
    }
    refused = await debit("7.01", "d2")
    assert codes(refused) == [("input.amount", "INSUFFICIENT_FUNDS")]
    at_limit = await debit("7", "d3")
    assert at_limit["account"] == {"balance": {"amount": "-5.00"}, "billingStatus": "LOW_BALANCE"}
    # The owner sees its history, newest first; it cannot change its own limit.
    history = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Account { transactions { totalCount edges { node { kind amount { amount } } } } } } }",
        {"id": account},
        token=world.a1_admin.token,
    )
    assert [e["node"]["amount"]["amount"] for e in history["node"]["transactions"]["edges"]] == [
        "-7.00",
        "-8.00",
        "10.00",
    ]
    own = await gql.data(
        LIMITS, {"i": {"id": account, "creditLimit": "100"}}, token=world.a1_admin.token
    )
    assert codes(own["updateAccount"]) == [("input.accountId", "FORBIDDEN")]
    bad = await gql.data(
        LIMITS,
        {"i": {"id": account, "creditLimit": "-1", "lowBalanceThreshold": "0.001"}},
        token=root,
    )
    assert sorted(codes(bad["updateAccount"])) == [
        ("input.creditLimit", "INVALID"),
        ("input.lowBalanceThreshold", "INVALID"),
    ]

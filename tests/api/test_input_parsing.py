"""Strict input: Decimal strings, active currencies, DateTimes that exist in UTC, and a
sane window for usage. Refusals are clear errors (BAD_USER_INPUT or a userError), never
a masked "Unexpected error." and never a silently different amount."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.test_accounts import LIMITS, TOP_UP, account_of, top_up
from tests.api.test_tenants import CREATE, new_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, codes, record
from tests.fixtures.world import World
from tests.ids import gid

REFUSED_DECIMALS = [
    "١٢",  # Arabic-Indic digits: Decimal() reads 12
    "1_0",  # Decimal() reads 10
    " 1.00",
    "1.00 ",
    "1e5",
    "1E+17",
    "Infinity",
    "-Infinity",
    "NaN",
    "sNaN",
    "1e400",
    "",
    "+",
    "1.",
    ".5",
    "1,00",
    "0x10",
    "1" * 41,
    1.1,  # JSON numbers: floats never touch money
    12,
    True,
]


def request_error(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of a request refused before it ran."""
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["message"] != "Unexpected error.", error
    result: dict[str, Any] = error
    return result


async def balance(gql: GraphQLClient, world: World, account: str) -> str:
    data = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Account { balance { amount } } } }",
        {"id": account},
        token=world.root_admin.token,
    )
    amount: str = data["node"]["balance"]["amount"]
    return amount


@pytest.mark.parametrize("amount", REFUSED_DECIMALS, ids=repr)
async def test_a_decimal_is_a_string_of_ascii_digits(
    gql: GraphQLClient, world: World, amount: object
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    variables = {"i": {"accountId": account, "amount": amount, "idempotencyKey": "k"}}
    body = await gql.execute(TOP_UP, variables, token=world.a1_admin.token)
    error = request_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "ASCII digits" in error["message"]
    assert await balance(gql, world, account) == "0.00"


@pytest.mark.parametrize("literal", ["1.5", "12", '"1e5"', '"١٢"'])
async def test_decimal_literals_in_the_document_are_strict_too(
    gql: GraphQLClient, world: World, literal: str
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    query = f"""mutation {{ topUpAccount(input: {{accountId: "{account}", amount: {literal},
      idempotencyKey: "k"}}) {{ userErrors {{ code }} }} }}"""
    error = request_error(await gql.execute(query, token=world.a1_admin.token))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await balance(gql, world, account) == "0.00"


@pytest.mark.parametrize("amount", ["12", "12.5", "+12.50", "0012.50"])
async def test_plain_decimal_strings_are_accepted(
    gql: GraphQLClient, world: World, amount: str
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    payload = await top_up(gql, world.a1_admin.token, account, amount, "k")
    assert payload["userErrors"] == []
    assert payload["account"]["balance"]["amount"] == f"{float(amount):.2f}"


async def test_more_decimals_than_the_currency_has_stay_invalid(
    gql: GraphQLClient, world: World
) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    payload = await top_up(gql, world.a1_admin.token, account, "1.001", "k")
    assert codes(payload) == [("input.amount", "INVALID")]


async def test_every_decimal_input_is_strict(gql: GraphQLClient, world: World) -> None:
    """Credit limits and prices go through the same scalar (1e400 was a masked error)."""
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    body = await gql.execute(
        LIMITS, {"i": {"id": account, "creditLimit": "1e400"}}, token=world.a1_admin.token
    )
    assert request_error(body)["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql.execute(
        "mutation($i: CreateTariffInput!) { createTariff(input: $i) { userErrors { code } } }",
        {
            "i": {
                "ownerId": gid("Tenant", world.a1.id),
                "name": "T",
                "rates": [{"kind": "DATA", "unitPrice": "1e400"}],
            }
        },
        token=world.a1_admin.token,
    )
    assert request_error(body)["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("currency", ["XXX", "XTS", "XAU", "XDR", "BOV", "CHE", "eur", "EURO"])
async def test_currencies_are_active_iso_4217_codes(
    gql: GraphQLClient, world: World, currency: str
) -> None:
    data = await gql.data(
        CREATE, new_tenant(world.a1.id, currency=currency), token=world.a1_admin.token
    )
    assert [(e["field"], e["code"]) for e in data["createSubTenant"]["userErrors"]] == [
        (["input", "currency"], "INVALID")
    ]


@pytest.mark.parametrize("currency", ["CHF", "JPY", "XOF", "XCD"])
async def test_real_currencies_are_accepted(
    gql: GraphQLClient, world: World, currency: str
) -> None:
    data = await gql.data(
        CREATE, new_tenant(world.a1.id, currency=currency), token=world.a1_admin.token
    )
    assert data["createSubTenant"]["userErrors"] == []
    assert data["createSubTenant"]["tenant"]["currency"] == currency


BAD_DATETIMES = [
    "9999-12-31T23:59:59-14:00",  # past year 9999 in UTC
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "10000-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "yesterday",
]


@pytest.mark.parametrize("at", BAD_DATETIMES)
async def test_a_datetime_must_exist_in_utc(gql: GraphQLClient, world: World, at: str) -> None:
    account = await account_of(gql, world.root_admin.token, world.a1x.id)
    body = await gql.execute(
        """query($id: ID!, $from: DateTime) { node(id: $id) {
             ... on Account { transactions(from: $from) { totalCount } } } }""",
        {"id": account, "from": at},
        token=world.a1_admin.token,
    )
    error = request_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_bad_datetime_in_a_usage_record_is_a_clear_error(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    body = await gql.execute(
        RECORD,
        {"r": [record(priced.endpoint_id, "e", "1", at="9999-12-31T23:59:59-14:00")]},
        token=world.root_admin.token,
    )
    assert request_error(body)["extensions"]["code"] == "BAD_USER_INPUT"


def _iso(at: datetime) -> str:
    return at.isoformat()


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+00:00",
        "1999-12-31T23:59:59+00:00",
        "2000-01-01T00:59:59+01:00",  # 1999 in UTC
        _iso(datetime.now(UTC) + timedelta(days=1)),
        "9999-12-31T00:00:00+00:00",
    ],
)
async def test_usage_must_fall_in_a_sane_window(
    gql: GraphQLClient, world: World, priced: Priced, at: str
) -> None:
    batch = [record(priced.endpoint_id, "ok", "1"), record(priced.endpoint_id, "odd", "1", at=at)]
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 0
    assert codes(data["recordUsage"]) == [("input.records.1.occurredAt", "INVALID")]


async def test_usage_at_the_window_edges_is_accepted(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    batch = [
        record(priced.endpoint_id, "first", "1", at="2000-01-01T00:00:00+00:00"),
        record(priced.endpoint_id, "soon", "1", at=_iso(datetime.now(UTC) + timedelta(minutes=5))),
    ]
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"] == {"accepted": 2, "duplicates": 0, "userErrors": []}

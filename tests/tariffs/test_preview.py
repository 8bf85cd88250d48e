"""previewTariff: per payer and in total, what a past period's usage cost by the tariff
(each record by the version in force when it occurred) and would have cost by proposed
rates, to the millionth like the ledger; who may ask; and that it changes nothing."""

import asyncio
from datetime import timedelta
from typing import Any

from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, codes, create_customer, record
from tests.fixtures.world import World
from tests.ids import gid
from tests.tariffs.conftest import Tariffs, data_rate, iso, later, now, revise

PREVIEW = """mutation($i: PreviewTariffInput!) { previewTariff(input: $i) {
  preview { tariff { id } from to current { amount currency } proposed { amount currency }
    lines { payerTenant { id } payerCustomer { id } current { amount currency }
      proposed { amount currency } } }
  userErrors { field code message } } }"""
NOVEMBER = {"from": "2026-11-01T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"}
BALANCE = (
    """query($id: ID!) { node(id: $id) { ... on Customer { account { balance { amount } } } } }"""
)


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def preview(
    gql: GraphQLClient, token: str, tariff: str, rates: list[dict[str, str]], **period: str
) -> dict[str, Any]:
    data = await gql.data(
        PREVIEW,
        {"i": {"tariffId": tariff, "rates": rates, **(period or NOVEMBER)}},
        token=token,
    )
    payload: dict[str, Any] = data["previewTariff"]
    return payload


async def november_usage(gql: GraphQLClient, token: str, priced: Priced) -> None:
    records = [
        record(priced.endpoint_id, "d1", "10.5"),  # billed 11 MB
        record(priced.endpoint_id, "d2", "2"),
        *(record(priced.endpoint_id, f"s{i}", "1", "SMS") for i in range(3)),
        # Outside the period: not previewed.
        record(priced.endpoint_id, "oct", "100", at="2026-10-31T23:59:59+00:00"),
        record(priced.endpoint_id, "dec", "100", at="2026-12-01T00:00:00+00:00"),
    ]
    data = await gql.data(RECORD, {"r": records}, token=token)
    assert data["recordUsage"]["userErrors"] == []


PROPOSED = [
    {"kind": "DATA", "unitPrice": "0.04", "increment": "1", "minimum": "5"},
    {"kind": "SMS", "unitPrice": "0.001"},
]


async def test_preview_of_a_customer_tariff_per_customer_and_in_total(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    root = world.root_admin.token
    await november_usage(gql, root, priced)
    idle = (await create_customer(gql, root, world.a1.id, tariffId=tariffs.customer))["customer"]
    payload = await preview(gql, world.a1_admin.token, tariffs.customer, PROPOSED)
    assert payload["userErrors"] == []
    result = payload["preview"]
    # Now: 11 MB + 2 MB at 0.05 = 0.65, 3 SMS at 0.0004 = 0.0012: 0.6512.
    # Proposed: 11 MB and 5 MB (the minimum) at 0.04 = 0.64, 3 SMS at 0.001: 0.643.
    assert result["lines"] == [
        {
            "payerTenant": None,
            "payerCustomer": {"id": priced.customer_id},
            "current": eur("0.6512"),
            "proposed": eur("0.643"),
        },
        {
            "payerTenant": None,
            "payerCustomer": {"id": idle["id"]},
            "current": eur("0.00"),
            "proposed": eur("0.00"),
        },
    ]
    assert result["current"] == [eur("0.6512")]
    assert result["proposed"] == [eur("0.643")]
    assert result["tariff"] == {"id": tariffs.customer}
    # What it cost is what the customer was charged for November; nothing else moved.
    data = await gql.data(BALANCE, {"id": priced.customer_id}, token=root)
    assert data["node"]["account"]["balance"]["amount"] == "-10.6512"


async def test_preview_of_a_tenant_tariff_per_sub_tenant(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    root = world.root_admin.token
    await november_usage(gql, root, priced)
    # a charges a1 0.02/MB and 0.0004/SMS for its subtree's usage: 13 MB = 0.26 + 0.0012.
    # Proposed: 0.03/MB, SMS not priced (free): 0.39.
    payload = await preview(gql, root, tariffs.a1_pays, [{"kind": "DATA", "unitPrice": "0.03"}])
    assert payload["userErrors"] == []
    assert payload["preview"]["lines"] == [
        {
            "payerTenant": {"id": gid("Tenant", world.a1.id)},
            "payerCustomer": None,
            "current": eur("0.2612"),
            "proposed": eur("0.39"),
        }
    ]


async def test_each_record_costs_what_the_version_in_force_when_it_occurred_charged(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    root = world.root_admin.token
    effective = later(1)
    payload = await revise(
        gql, world.a1_admin.token, tariffs.customer, effective, data_rate("0.07")
    )
    assert payload["userErrors"] == []
    records = [
        record(priced.endpoint_id, "before", "10", at=iso(effective - timedelta(seconds=1))),
        record(priced.endpoint_id, "after", "10", at=iso(effective + timedelta(seconds=1))),
    ]
    assert (await gql.data(RECORD, {"r": records}, token=root))["recordUsage"]["accepted"] == 2
    end = effective + timedelta(seconds=2)
    await asyncio.sleep((end - now()).total_seconds() + 0.1)
    period = {"from": iso(effective - timedelta(minutes=1)), "to": iso(end)}
    result = (await preview(gql, root, tariffs.customer, data_rate("0.01"), **period))["preview"]
    # 10 MB at 0.05 and 10 MB at 0.07 (each as charged); proposed 20 MB at 0.01.
    assert result["current"] == [eur("1.20")]
    assert result["proposed"] == [eur("0.20")]


async def test_who_may_preview_and_bad_periods(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    await november_usage(gql, world.root_admin.token, priced)
    # Another branch cannot see the tariff; a1 only reads the tariff its parent charges it;
    # a viewer may not.
    cousin = await preview(gql, world.b1_admin.token, tariffs.customer, PROPOSED)
    assert codes(cousin) == [("input.tariffId", "NOT_FOUND")]
    assert cousin["preview"] is None
    sibling = await preview(gql, world.a2_admin.token, tariffs.customer, PROPOSED)
    assert codes(sibling) == [("input.tariffId", "NOT_FOUND")]
    parents = await preview(gql, world.a1_admin.token, tariffs.a1_pays, PROPOSED)
    assert codes(parents) == [("input.tariffId", "FORBIDDEN")]
    viewer = await preview(gql, world.a1_viewer.token, tariffs.customer, PROPOSED)
    assert [e["code"] for e in viewer["userErrors"]] == ["FORBIDDEN"]
    admin = world.a1_admin.token
    unfinished = await preview(
        gql, admin, tariffs.customer, PROPOSED, **{"from": NOVEMBER["from"], "to": iso(later(60))}
    )
    assert codes(unfinished) == [("input.to", "INVALID")]
    empty = await preview(
        gql, admin, tariffs.customer, PROPOSED, **{"from": NOVEMBER["to"], "to": NOVEMBER["from"]}
    )
    assert codes(empty) == [("input.to", "INVALID")]
    bad = await preview(gql, admin, tariffs.customer, [{"kind": "DATA", "unitPrice": "-1"}])
    assert codes(bad) == [("input.rates.0.unitPrice", "INVALID")]

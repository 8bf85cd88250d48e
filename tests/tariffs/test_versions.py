"""reviseTariff: versions effective from an instant, usage rated by the version in force
when it occurred (late usage too), Tariff.rates / versions, who may revise, and fees by
the version in force at the start of their period."""

import asyncio
from datetime import timedelta
from typing import Any

from tenantry.db.engine import Database
from tenantry.ledger.service import check_invariants
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, codes, record
from tests.fixtures.world import World
from tests.ids import gid
from tests.tariffs.conftest import Tariffs, data_rate, iso, later, now, revise

BALANCE = """query($id: ID!) { node(id: $id) { ... on Customer { account { balance { amount } } }
  ... on Tenant { account { balance { amount } } } } }"""
TARIFF = """query($id: ID!) { node(id: $id) { ... on Tariff { rates { kind unitPrice }
  monthlyFeePerEndpoint { amount currency }
  versions(first: 10) { totalCount edges { node { effectiveFrom effectiveTo
    rates { kind unitPrice } } } } } } }"""


async def balance(gql: GraphQLClient, token: str, node: str) -> str:
    data = await gql.data(BALANCE, {"id": node}, token=token)
    amount: str = data["node"]["account"]["balance"]["amount"]
    return amount


async def ingest(gql: GraphQLClient, token: str, records: list[dict[str, str]]) -> None:
    data = await gql.data(RECORD, {"r": records}, token=token)
    assert data["recordUsage"]["userErrors"] == []
    assert data["recordUsage"]["accepted"] == len(records)


async def test_usage_is_rated_by_the_version_in_force_when_it_occurred(
    gql: GraphQLClient, db: Database, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    root = world.root_admin.token
    effective = now()
    revised = await revise(
        gql, world.a1_admin.token, tariffs.customer, effective, data_rate("0.07")
    )
    assert revised["userErrors"] == []
    # In force now: Tariff.rates shows the new version; versions newest first.
    assert revised["tariff"]["rates"][0] == {
        "kind": "DATA",
        "unitPrice": "0.07",
        "increment": "1",
        "minimum": "0",
    }
    versions = [e["node"] for e in revised["tariff"]["versions"]["edges"]]
    assert revised["tariff"]["versions"]["totalCount"] == 2
    assert [v["rates"][0]["unitPrice"] for v in versions] == ["0.07", "0.05"]
    assert versions[0]["effectiveTo"] is None
    assert versions[1]["effectiveTo"] == versions[0]["effectiveFrom"]
    assert versions[0]["actor"] == {"id": gid("User", world.a1_admin.user.id)}

    # A day-old record arriving now (late) is rated as it would have been on time: 10 MB at
    # 0.05 = 0.50. A record after the revision: 10 MB at 0.07 = 0.70.
    await ingest(
        gql,
        root,
        [
            record(priced.endpoint_id, "late", "10", at=iso(effective - timedelta(days=1))),
            record(priced.endpoint_id, "new", "10", at=iso(effective + timedelta(minutes=1))),
        ],
    )
    assert await balance(gql, root, priced.customer_id) == "-1.20"
    # a1 pays a by its tenant tariff (not revised): 20 MB at 0.02.
    assert await balance(gql, root, gid("Tenant", world.a1.id)) == "0.80"
    async with db.read() as session:
        assert await check_invariants(session) == []


async def test_a_future_revision_leaves_the_rates_in_force_until_it_takes_effect(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    token = world.a1_admin.token
    effective = later(3600)
    payload = await revise(gql, token, tariffs.customer, effective, data_rate("0.09"))
    assert payload["userErrors"] == []
    data = await gql.data(TARIFF, {"id": tariffs.customer}, token=token)
    tariff = data["node"]
    assert tariff["rates"][0] == {"kind": "DATA", "unitPrice": "0.05"}
    edges = [e["node"] for e in tariff["versions"]["edges"]]
    assert [e["rates"][0]["unitPrice"] for e in edges] == ["0.09", "0.05"]
    assert edges[1]["effectiveTo"] == edges[0]["effectiveFrom"]
    # Records now are rated by the version in force now, those 30 min after it by the new one.
    await ingest(
        gql,
        world.root_admin.token,
        [
            record(priced.endpoint_id, "now", "1", at=iso(now())),
            record(priced.endpoint_id, "soon", "1", at=iso(effective + timedelta(minutes=-59))),
        ],
    )
    assert await balance(gql, world.root_admin.token, priced.customer_id) == "-0.10"


async def test_a_revision_between_two_versions_takes_its_place(
    gql: GraphQLClient, world: World, tariffs: Tariffs
) -> None:
    token = world.a1_admin.token
    far, near = later(7200), later(3600)
    assert (await revise(gql, token, tariffs.customer, far, data_rate("0.09")))["userErrors"] == []
    payload = await revise(gql, token, tariffs.customer, near, data_rate("0.08"))
    assert payload["userErrors"] == []
    edges = [e["node"] for e in payload["tariff"]["versions"]["edges"]]
    assert [e["rates"][0]["unitPrice"] for e in edges] == ["0.09", "0.08", "0.05"]
    assert [e["effectiveTo"] for e in edges] == [
        None,
        edges[0]["effectiveFrom"],
        edges[1]["effectiveFrom"],
    ]


async def test_revisions_refused(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    admin = world.a1_admin.token
    at = later(60)
    past = await revise(gql, admin, tariffs.customer, now() - timedelta(seconds=5), data_rate("1"))
    assert codes(past) == [("input.effectiveFrom", "INVALID")]
    assert past["tariff"] is None
    # One version per instant.
    assert (await revise(gql, admin, tariffs.customer, at, data_rate("1")))["userErrors"] == []
    again = await revise(gql, admin, tariffs.customer, at, data_rate("2"))
    assert codes(again) == [("input.effectiveFrom", "INVALID")]
    bad = await revise(
        gql,
        admin,
        tariffs.customer,
        later(120),
        [{"kind": "DATA", "unitPrice": "-1"}, {"kind": "DATA", "unitPrice": "1", "increment": "0"}],
        monthlyFeePerEndpoint="0.001",
    )
    assert codes(bad) == [
        ("input.rates.0.unitPrice", "INVALID"),
        ("input.rates.1.kind", "INVALID"),
        ("input.rates.1.increment", "INVALID"),
        ("input.monthlyFeePerEndpoint", "INVALID"),
    ]
    # a1 reads the tariff a charges it, but may not revise it; a2 cannot see a1's tariff;
    # a viewer changes nothing.
    parents = await revise(gql, admin, tariffs.a1_pays, later(60), data_rate("0"))
    assert codes(parents) == [("input.tariffId", "FORBIDDEN")]
    sibling = await revise(gql, world.a2_admin.token, tariffs.customer, later(60), data_rate("0"))
    assert codes(sibling) == [("input.tariffId", "NOT_FOUND")]
    viewer = await revise(gql, world.a1_viewer.token, tariffs.customer, later(60), data_rate("0"))
    assert [e["code"] for e in viewer["userErrors"]] == ["FORBIDDEN"]
    # Nothing of that was written: the original and the one accepted revision.
    data = await gql.data(TARIFF, {"id": tariffs.customer}, token=admin)
    assert data["node"]["versions"]["totalCount"] == 2


async def test_usage_already_rated_after_the_instant_refuses_the_revision(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    """Usage may arrive up to an hour ahead of the server's clock; a revision taking effect
    before such usage would leave it rated by the wrong version, so it is refused."""
    root = world.root_admin.token
    ahead = later(1800)
    await ingest(gql, root, [record(priced.endpoint_id, "ahead", "1", at=iso(ahead))])
    payload = await revise(gql, world.a1_admin.token, tariffs.customer, later(60), data_rate("1"))
    assert codes(payload) == [("input.effectiveFrom", "INVALID")]
    after = await revise(
        gql, world.a1_admin.token, tariffs.customer, ahead + timedelta(seconds=1), data_rate("1")
    )
    assert after["userErrors"] == []


FEE_RUN = """mutation($s: DateTime!, $e: DateTime!) {
  chargeEndpointFees(input: {periodStart: $s, periodEnd: $e}) {
    run { charged { amount currency } } userErrors { field code message } } }"""


def rates_of(payload: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {k: r[k] for k in ("kind", "unitPrice", "increment", "minimum")}
        for r in payload["tariff"]["rates"]
    ]


async def test_endpoint_fees_use_the_version_in_force_at_the_start_of_the_period(
    gql: GraphQLClient, world: World, priced: Priced, tariffs: Tariffs
) -> None:
    root = world.root_admin.token
    effective = later(2)
    # December 2026 has 2,678,400 s: this fee is 1.00 per second an endpoint exists.
    payload = await revise(
        gql,
        world.a1_admin.token,
        tariffs.customer,
        effective,
        data_rate("0.05"),
        monthlyFeePerEndpoint="2678400",
    )
    assert payload["userErrors"] == []
    await asyncio.sleep((effective + timedelta(seconds=2) - now()).total_seconds() + 0.2)
    # A period that starts before the revision: the first version, which has no fee.
    before = await gql.data(
        FEE_RUN,
        {"s": iso(effective - timedelta(seconds=1)), "e": iso(effective + timedelta(seconds=1))},
        token=root,
    )
    assert before["chargeEndpointFees"]["userErrors"] == []
    assert before["chargeEndpointFees"]["run"]["charged"] == []
    # One that starts after it: 1 s at 1.00 per second.
    after = await gql.data(
        FEE_RUN,
        {"s": iso(effective + timedelta(seconds=1)), "e": iso(effective + timedelta(seconds=2))},
        token=root,
    )
    assert after["chargeEndpointFees"]["run"]["charged"] == [{"amount": "1.00", "currency": "EUR"}]
    assert await balance(gql, root, priced.customer_id) == "-1.00"

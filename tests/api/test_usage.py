"""Usage ingestion and the rating cascade, checked to the cent against hand-computed values.

Tree (all EUR):  platform  <- a pays 0.01/MB (root's tariff)
                   a       <- a1 pays 0.02/MB (a's tariff)
                   a1      <- customer pays 0.05/MB (a1's tariff), per started MB
"""

import asyncio
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.ledger.service import check_invariants
from tenantry.usage.models import UsageRecord
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import FROM, RECORD, TO, Priced, codes, record, set_tenant
from tests.fixtures.world import World
from tests.ids import gid


async def balances(gql: GraphQLClient, world: World, priced: Priced) -> dict[str, str]:
    q = """query($ids: [ID!]!, $acc: ID!) { nodes(ids: $ids) { ... on Tenant { moniker account { balance { amount } } } }
             account: node(id: $acc) { ... on Account { balance { amount } billingStatus } } }"""
    ids = [gid("Tenant", t.id) for t in (world.root, world.a, world.a1)]
    data = await gql.data(
        q, {"ids": ids, "acc": priced.customer_account}, token=world.root_admin.token
    )
    result = {n["moniker"]: n["account"]["balance"]["amount"] for n in data["nodes"]}
    result["customer"] = data["account"]["balance"]["amount"]
    return result


async def test_usage_is_rated_at_every_level(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    data = await gql.data(
        RECORD, {"r": [record(priced.endpoint_id, "e1", "10.5")]}, token=world.root_admin.token
    )
    assert data["recordUsage"] == {"accepted": 1, "duplicates": 0, "userErrors": []}
    # 10.5 MB is 11 started MB: customer pays 0.55 to a1, a1 pays 0.22 to a, a pays 0.11 to the root.
    assert await balances(gql, world, priced) == {
        "platform": "0.11",
        "a": "0.11",
        "a1": "0.33",
        "customer": "-0.55",
    }
    async with db.read() as session:
        assert await check_invariants(session) == []


async def test_usage_reads_show_quantity_cost_and_revenue(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    await gql.data(
        RECORD,
        {
            "r": [
                record(priced.endpoint_id, "e1", "10.5"),
                record(priced.endpoint_id, "e2", "3", "SMS"),
            ]
        },
        token=world.root_admin.token,
    )
    q = """query($id: ID!, $from: DateTime!, $to: DateTime!, $sub: Boolean!) { tenant(id: $id) {
             usage(from: $from, to: $to, includeDescendants: $sub) { totals { kind quantity cost { amount currency } revenue { amount } }
               endpoints { edges { node { kind quantity cost { amount } endpoint { id } } } } } } }"""

    async def usage(tenant_id: int, sub: bool, token: str) -> dict[str, Any]:
        variables = {"id": gid("Tenant", tenant_id), "from": FROM, "to": TO, "sub": sub}
        result: dict[str, Any] = (await gql.data(q, variables, token=token))["tenant"]["usage"]
        return result

    a1 = await usage(world.a1.id, True, world.a1_admin.token)
    assert a1["totals"] == [
        {
            "kind": "DATA",
            "quantity": "10.5",
            "cost": {"amount": "0.22", "currency": "EUR"},
            "revenue": {"amount": "0.55"},
        },
        {
            "kind": "SMS",
            "quantity": "3",
            "cost": {"amount": "0.0012", "currency": "EUR"},
            "revenue": {"amount": "0.0012"},
        },
    ]
    assert a1["endpoints"]["edges"] == [
        {
            "node": {
                "kind": "DATA",
                "quantity": "10.5",
                "cost": {"amount": "0.22"},
                "endpoint": {"id": priced.endpoint_id},
            }
        },
        {
            "node": {
                "kind": "SMS",
                "quantity": "3",
                "cost": {"amount": "0.0012"},
                "endpoint": {"id": priced.endpoint_id},
            }
        },
    ]
    a = await usage(world.a.id, True, world.root_admin.token)
    assert [(t["kind"], t["cost"]["amount"], t["revenue"]["amount"]) for t in a["totals"]] == [
        ("DATA", "0.11", "0.22"),
        ("SMS", "0.0012", "0.0012"),
    ]
    # Without descendants, a has no customers of its own: nothing.
    assert (await usage(world.a.id, False, world.root_admin.token))["totals"] == []
    # A window that misses the records is empty.
    empty = await gql.data(
        q,
        {
            "id": gid("Tenant", world.a1.id),
            "from": "2026-10-01T00:00:00Z",
            "to": "2026-11-01T00:00:00Z",
            "sub": True,
        },
        token=world.a1_admin.token,
    )
    assert empty["tenant"]["usage"]["totals"] == []
    customer = await gql.data(
        """query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Customer {
             usage(from: $from, to: $to) { totals { kind quantity cost { amount } revenue { amount } } } } } }""",
        {"id": priced.customer_id, "from": FROM, "to": TO},
        token=world.a1_viewer.token,
    )
    endpoint = await gql.data(
        """query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Endpoint {
             usage(from: $from, to: $to) { totals { kind quantity cost { amount } } } } } }""",
        {"id": priced.endpoint_id, "from": FROM, "to": TO},
        token=world.a1_viewer.token,
    )
    assert endpoint["node"]["usage"]["totals"] == [
        {"kind": "DATA", "quantity": "10.5", "cost": {"amount": "0.55"}},
        {"kind": "SMS", "quantity": "3", "cost": {"amount": "0.0012"}},
    ]
    assert customer["node"]["usage"]["totals"][0] == {
        "kind": "DATA",
        "quantity": "10.5",
        "cost": {"amount": "0.55"},
        "revenue": {"amount": "0.00"},
    }


async def test_repeated_events_are_counted_and_charge_nothing(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    batch = [record(priced.endpoint_id, "e1", "1"), record(priced.endpoint_id, "e1", "1")]
    first = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert first["recordUsage"] == {"accepted": 1, "duplicates": 1, "userErrors": []}
    before = await balances(gql, world, priced)
    again = await gql.data(RECORD, {"r": batch[:1]}, token=world.root_admin.token)
    assert again["recordUsage"] == {"accepted": 0, "duplicates": 1, "userErrors": []}
    assert await balances(gql, world, priced) == before


async def test_a_bad_record_rejects_the_whole_batch(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    batch = [
        record(priced.endpoint_id, "ok", "1"),
        record(gid("Endpoint", 999_999), "unknown", "1"),
        record(priced.endpoint_id, "neg", "-1"),
        record(priced.endpoint_id, "", "0.0000001"),
    ]
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 0
    assert sorted(codes(data["recordUsage"])) == [
        ("input.records.1.endpointId", "NOT_FOUND"),
        ("input.records.2.quantity", "INVALID"),
        ("input.records.3.eventId", "INVALID"),
        ("input.records.3.quantity", "INVALID"),
    ]
    async with db.read() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(UsageRecord)) == 0


async def test_only_platform_admins_ingest(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    refused = await gql.refused(
        RECORD, {"r": [record(priced.endpoint_id, "x", "1")]}, token=world.a1_admin.token
    )
    assert refused == ["FORBIDDEN"]


async def test_tiny_charges_are_never_rounded_away(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    batch = [record(priced.endpoint_id, f"sms-{i}", "1", "SMS") for i in range(1000)]
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 1000
    # 1000 messages at 0.0004 each, at every level: 0.4 moves, not 0.00.
    assert await balances(gql, world, priced) == {
        "platform": "0.40",
        "a": "0.00",
        "a1": "0.00",
        "customer": "-0.40",
    }
    async with db.read() as session:
        # Every record keeps its own unrounded level-0 charge; together they are the 0.4.
        charged = await session.scalar(sa.select(sa.func.sum(UsageRecord.charges[1])))
    assert charged == Decimal("0.4")


async def test_a_blank_tenant_tariff_makes_that_level_free(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    await set_tenant(gql, world.root_admin.token, world.a1.id, tenantTariffId=None)
    await gql.data(
        RECORD, {"r": [record(priced.endpoint_id, "e1", "2")]}, token=world.root_admin.token
    )
    # a1 pays a nothing; a still pays the root for the usage below it.
    assert await balances(gql, world, priced) == {
        "platform": "0.02",
        "a": "-0.02",
        "a1": "0.10",
        "customer": "-0.10",
    }


async def test_transactions_show_usage_from_each_side(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    await gql.data(
        RECORD, {"r": [record(priced.endpoint_id, "e1", "1")]}, token=world.root_admin.token
    )
    q = """query($id: ID!, $kinds: [TransactionKind!]) { tenant(id: $id) { account { transactions(kinds: $kinds) {
             totalCount edges { node { kind amount { amount } balanceAfter { amount } } } } } } }"""
    data = await gql.data(q, {"id": gid("Tenant", world.a1.id)}, token=world.a1_admin.token)
    assert sorted(
        (n["node"]["kind"], n["node"]["amount"]["amount"])
        for n in data["tenant"]["account"]["transactions"]["edges"]
    ) == [
        ("USAGE_CHARGE", "-0.02"),
        ("USAGE_REVENUE", "0.05"),
    ]
    only_revenue = await gql.data(
        q,
        {"id": gid("Tenant", world.a1.id), "kinds": ["USAGE_REVENUE"]},
        token=world.a1_admin.token,
    )
    assert only_revenue["tenant"]["account"]["transactions"]["totalCount"] == 1


async def test_concurrent_batches_with_shared_events_charge_each_event_once(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    # Eight batches at once; neighbours share half their event ids, in opposite orders.
    batches = [
        [record(priced.endpoint_id, f"e{i}", "1") for i in range(start, start + 100)][
            :: 1 if n % 2 else -1
        ]
        for n, start in enumerate(range(0, 400, 50))
    ]
    results = await asyncio.gather(
        *(gql.data(RECORD, {"r": batch}, token=world.root_admin.token) for batch in batches)
    )
    assert all(r["recordUsage"]["userErrors"] == [] for r in results)
    accepted = sum(r["recordUsage"]["accepted"] for r in results)
    duplicates = sum(r["recordUsage"]["duplicates"] for r in results)
    assert (accepted, duplicates) == (450, 800 - 450)
    # 450 MB: customer pays 450 x 0.05, a1 pays 450 x 0.02, a pays 450 x 0.01.
    assert await balances(gql, world, priced) == {
        "platform": "4.50",
        "a": "4.50",
        "a1": "13.50",
        "customer": "-22.50",
    }
    async with db.read() as session:
        assert await check_invariants(session) == []

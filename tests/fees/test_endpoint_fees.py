"""Monthly endpoint fees through the API, checked against hand-computed figures.

November 2026 has 30 days (2,592,000 s): an endpoint that existed for 15 of them pays half
its monthly fee at each level. Amounts keep 6 places, rounded half-up once per endpoint
and level, like rated usage.
"""

import asyncio
from typing import Any

import sqlalchemy as sa

from tenantry.auth.models import Role
from tenantry.db.engine import Database
from tenantry.fees.models import FeeRun
from tenantry.ledger.models import LedgerTransaction, TransactionKind
from tests.fees.conftest import CHARGE, NOVEMBER, Fees
from tests.fixtures.factories import create_actor
from tests.ids import gid


def codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(e["field"] or []), e["code"]) for e in payload["userErrors"]]


async def fee_runs(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(FeeRun)) or 0)


async def fee_transactions(db: Database) -> int:
    async with db.read() as session:
        stmt = sa.select(sa.func.count()).where(
            LedgerTransaction.kind == TransactionKind.ENDPOINT_FEE
        )
        return int(await session.scalar(stmt) or 0)


async def test_every_level_pays_its_parent_up_to_the_root(fees: Fees) -> None:
    """customer → sub-tenant → reseller → root, a fee at every level (all EUR)."""
    reseller = await fees.tenant(fees.root, fee="1.00")  # pays the root 1.00
    sub = await fees.tenant(reseller, fee="2.00")  # pays the reseller 2.00
    customer = await fees.customer(sub, "5.00")  # pays the sub-tenant 5.00
    await fees.endpoint(customer, "2026-10-05T08:00:00")  # all of November
    await fees.endpoint(customer, "2026-11-16T00:00:00")  # 15 of 30 days: half
    await fees.endpoint(customer)  # created now, after November: not charged, not counted

    payload = await fees.charge(*NOVEMBER)

    assert payload["userErrors"] == []
    run = payload["run"]
    assert (run["periodStart"], run["periodEnd"]) == NOVEMBER
    assert run["endpointCount"] == 2
    # The customer pays 5.00 + 2.50; the sub-tenant passes on 2.00 + 1.00 and keeps 4.50;
    # the reseller earns 3.00, passes on 1.00 + 0.50, keeps 1.50; the root keeps 1.50.
    assert run["charged"] == [{"amount": "7.50", "currency": "EUR"}]
    assert await fees.balances(customer=customer, sub=sub, reseller=reseller, root=fees.root) == {
        "customer": "-7.50",
        "sub": "4.50",
        "reseller": "1.50",
        "root": "1.50",
    }
    # Each side shows in the account's history under its own kind, filterable.
    q = """query($t: ID!) { node(id: $t) { ... on Tenant { account {
             paid: transactions(kinds: [ENDPOINT_FEE]) { edges { node { kind amount { amount } } } }
             earned: transactions(kinds: [ENDPOINT_FEE_REVENUE]) { edges { node { amount { amount } } } }
           } } } }"""
    account = (await fees.gql.data(q, {"t": gid("Tenant", sub.id)}, token=fees.token))["node"][
        "account"
    ]
    assert [e["node"] for e in account["paid"]["edges"]] == [
        {"kind": "ENDPOINT_FEE", "amount": {"amount": "-3.00"}}
    ]
    assert [e["node"]["amount"] for e in account["earned"]["edges"]] == [{"amount": "7.50"}]


async def test_amounts_are_rounded_half_up_once_per_endpoint_and_level(fees: Fees) -> None:
    tenant = await fees.tenant(fees.root)  # pays the root nothing: no tenant tariff
    customer = await fees.customer(tenant, "5.00")
    # 10 of 30 days each: 5.00 / 3 = 1.6666666… → 1.666667 per endpoint (the sum of the
    # exact amounts, 3.3333333…, would round to 3.333333).
    await fees.endpoint(customer, "2026-11-21T00:00:00")
    await fees.endpoint(customer, "2026-11-21T00:00:00")
    # 0.2592 s, to the microsecond: 5.00 * 0.2592 / 2,592,000 = 0.0000005 → 0.000001 (half up;
    # counted in whole seconds it would be nothing, or 1.929 times as much).
    await fees.endpoint(customer, "2026-11-30T23:59:59.740800")

    run = (await fees.charge(*NOVEMBER))["run"]

    assert run["endpointCount"] == 3
    assert run["charged"] == [{"amount": "3.333335", "currency": "EUR"}]
    assert await fees.balances(customer=customer, tenant=tenant, root=fees.root) == {
        "customer": "-3.333335",
        "tenant": "3.333335",
        "root": "0.00",
    }


async def test_a_period_across_two_months_is_split_at_the_month_boundary(fees: Fees) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "31.00")
    await fees.endpoint(customer, "2026-09-01T00:00:00")
    await fees.endpoint(customer, "2026-11-01T00:00:00")

    run = (await fees.charge("2026-10-15T00:00:00+00:00", "2026-11-15T00:00:00+00:00"))["run"]

    # First endpoint: 17 of October's 31 days (17.00) + 14 of November's 30 (14.4666…)
    # = 31.466667. Second: 14 of November's 30 days = 14.466667. Together 45.933334.
    assert run["charged"] == [{"amount": "45.933334", "currency": "EUR"}]
    assert await fees.balances(customer=customer) == {"customer": "-45.933334"}


async def test_each_currency_is_charged_in_its_own_precision(fees: Fees) -> None:
    """Two trees under the EUR root, in JPY (0 places) and BHD (3): their top level is free
    (the root prices in EUR). Every endpoint exists for 20 of November's 30 days: 2/3."""
    yen_reseller = await fees.tenant(fees.root, "JPY")
    yen_sub = await fees.tenant(yen_reseller, fee="1000")
    yen_customer = await fees.customer(yen_sub, "3000")
    await fees.endpoint(yen_customer, "2026-11-11T00:00:00")
    dinar_reseller = await fees.tenant(fees.root, "BHD")
    dinar_sub = await fees.tenant(dinar_reseller, fee="2.5")
    dinar_customer = await fees.customer(dinar_sub, "7.125")
    await fees.endpoint(dinar_customer, "2026-11-11T00:00:00")
    # Free: a tariff without a monthly fee, and no tariff at all.
    euro = await fees.tenant(fees.root)
    await fees.endpoint(await fees.customer(euro, None), "2026-10-01T00:00:00")
    await fees.endpoint(await fees.customer(euro, priced=False), "2026-10-01T00:00:00")

    run = (await fees.charge(*NOVEMBER))["run"]

    assert run["endpointCount"] == 4
    # JPY: 3000 * 2/3 = 2000; 1000 * 2/3 = 666.666667. BHD: 7.125 * 2/3 = 4.75;
    # 2.5 * 2/3 = 1.666667. Whole units show in the currency's precision.
    assert run["charged"] == [
        {"amount": "4.750", "currency": "BHD"},
        {"amount": "2000", "currency": "JPY"},
    ]
    assert await fees.balances(
        yen_customer=yen_customer,
        yen_sub=yen_sub,
        yen_reseller=yen_reseller,
        dinar_customer=dinar_customer,
        dinar_sub=dinar_sub,
        dinar_reseller=dinar_reseller,
        euro=euro,
        root=fees.root,
    ) == {
        "yen_customer": "-2000",
        "yen_sub": "1333.333333",
        "yen_reseller": "666.666667",
        "dinar_customer": "-4.750",
        "dinar_sub": "3.083333",
        "dinar_reseller": "1.666667",
        "euro": "0.00",
        "root": "0.00",
    }


async def test_the_same_period_again_returns_the_first_run_and_charges_nothing(
    fees: Fees, db: Database
) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "9.99")
    await fees.endpoint(customer, "2026-10-01T00:00:00")
    first = await fees.charge(*NOVEMBER)
    # The same instants written in another offset are the same period.
    again = await fees.charge("2026-11-01T01:00:00+01:00", "2026-11-30T19:00:00-05:00")

    assert again == first
    assert await fees.balances(customer=customer) == {"customer": "-9.99"}
    assert (await fee_runs(db), await fee_transactions(db)) == (1, 1)


async def test_a_period_overlapping_a_charged_one_is_refused(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "30.00")
    await fees.endpoint(customer, "2026-09-01T00:00:00")
    await fees.charge(*NOVEMBER)

    for start, end in [
        ("2026-11-15T00:00:00+00:00", "2026-12-01T00:00:00+00:00"),  # inside
        ("2026-10-15T00:00:00+00:00", "2026-11-15T00:00:00+00:00"),  # across its start
        ("2026-10-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00"),  # around it
    ]:
        payload = await fees.charge(start, end)
        assert (payload["run"], codes(payload)) == (None, [("input.periodStart", "INVALID")])
    # Touching is not overlapping: October is charged (31 of 31 days: 30.00).
    october = await fees.charge("2026-10-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00")

    assert october["userErrors"] == []
    assert await fees.balances(customer=customer) == {"customer": "-60.00"}
    assert await fee_runs(db) == 2


async def test_a_period_that_has_not_ended_is_refused(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "30.00")
    await fees.endpoint(customer, "2026-09-01T00:00:00")

    not_ended = await fees.charge("2026-11-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00")
    empty = await fees.charge("2026-11-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00")

    assert codes(not_ended) == [("input.periodEnd", "INVALID")]
    assert codes(empty) == [("input.periodEnd", "INVALID")]
    assert await fees.balances(customer=customer) == {"customer": "0.00"}
    assert await fee_runs(db) == 0


async def test_concurrent_runs_of_one_period_charge_once(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root, fee=None)
    customer = await fees.customer(tenant, "12.00")
    await fees.endpoint(customer, "2026-10-01T00:00:00")
    await fees.endpoint(customer, "2026-11-16T00:00:00")

    # Ten requests at once, each in its own database transaction and connection.
    payloads = await asyncio.gather(*(fees.charge(*NOVEMBER) for _ in range(10)))

    assert all(p["userErrors"] == [] for p in payloads)
    assert len({p["run"]["id"] for p in payloads}) == 1
    assert await fees.balances(customer=customer) == {"customer": "-18.00"}  # 12.00 + 6.00
    assert (await fee_runs(db), await fee_transactions(db)) == (1, 1)


async def test_only_platform_admins_charge_fees(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "12.00")
    await fees.endpoint(customer, "2026-10-01T00:00:00")
    tenant_admin = await create_actor(db, fees.root, fees.admin, tenant)
    platform_viewer = await create_actor(db, fees.root, fees.admin, fees.root, Role.VIEWER)

    for actor in (tenant_admin, platform_viewer):
        refused = await fees.gql.refused(
            CHARGE, {"s": NOVEMBER[0], "e": NOVEMBER[1]}, token=actor.token
        )
        assert refused == ["FORBIDDEN"]
    assert await fee_runs(db) == 0
    assert await fees.balances(customer=customer) == {"customer": "0.00"}


async def test_a_run_is_a_node_that_only_the_platform_sees(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "12.00")
    await fees.endpoint(customer, "2026-10-01T00:00:00")
    run = (await fees.charge(*NOVEMBER))["run"]
    tenant_admin = await create_actor(db, fees.root, fees.admin, tenant)
    q = """query($id: ID!) { node(id: $id) { ... on FeeRun { id periodStart periodEnd
             endpointCount charged { amount currency } } } }"""

    assert (await fees.gql.data(q, {"id": run["id"]}, token=fees.token))["node"] == run
    assert (await fees.gql.data(q, {"id": run["id"]}, token=tenant_admin.token))["node"] is None


async def test_an_endpoint_shows_when_it_was_created(fees: Fees) -> None:
    tenant = await fees.tenant(fees.root)
    endpoint = await fees.endpoint(await fees.customer(tenant), "2026-11-16T07:30:00.25")
    q = "query($id: ID!) { node(id: $id) { ... on Endpoint { createdAt } } }"

    data = await fees.gql.data(q, {"id": endpoint}, token=fees.token)

    assert data["node"]["createdAt"] == "2026-11-16T07:30:00.250000+00:00"


async def test_a_period_before_any_endpoint_charges_nothing_and_is_still_a_run(
    fees: Fees, db: Database
) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, "12.00")
    await fees.endpoint(customer, "2026-10-01T00:00:00")  # exactly when September ends

    september = await fees.charge("2026-09-01T00:00:00+00:00", "2026-10-01T00:00:00+00:00")

    assert september["userErrors"] == []
    assert (september["run"]["endpointCount"], september["run"]["charged"]) == (0, [])
    assert (await fee_runs(db), await fee_transactions(db)) == (1, 0)
    # September is charged (with nothing): a period overlapping it is refused.
    overlapping = await fees.charge("2026-09-15T00:00:00+00:00", "2026-10-15T00:00:00+00:00")
    assert codes(overlapping) == [("input.periodStart", "INVALID")]

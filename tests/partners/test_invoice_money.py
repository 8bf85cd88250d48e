"""Issuing an invoice moves the money: a PLAN_FEE from the partner to the platform's revenue,
numbered per billing entity and year, seen through the API (Invoice.transaction and
Account.transactions). Figures are worked by hand in the comments."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.partners.models import PlanPeriod
from tenantry.tenants.models import Tenant
from tests.api.test_accounts import top_up
from tests.fixtures.factories import create_actor, create_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import only
from tests.fixtures.partners import CREATE_MANAGED, mutate
from tests.fixtures.world import World
from tests.ids import gid, pk_of
from tests.partners.conftest import at, plan_fee_count, revenue

GENERATE = """mutation($i: GenerateInvoiceInput!) { generateInvoice(input: $i) {
  invoice { id number issuedAt total { amount currency }
    transaction { id kind amount { amount currency } balanceAfter { amount } description reference } }
  userErrors { field code message } } }"""
ACCOUNT = """query($id: ID!) { tenant(id: $id) { account { balance { amount currency } billingStatus } } }"""
HISTORY = """query($id: ID!, $k: [TransactionKind!], $f: DateTime, $t: DateTime) { tenant(id: $id) {
  account { transactions(kinds: $k, from: $f, to: $t) { totalCount edges { node { kind amount { amount } } } } } } }"""
OCTOBER = {"periodStart": "2026-10-01T00:00:00Z", "periodEnd": "2026-11-01T00:00:00Z"}


@dataclass(frozen=True)
class Billed:
    partner: Tenant
    admin_token: str


async def entity(gql: GraphQLClient, world: World, code: str) -> str:
    data = await gql.data(
        'mutation($c: String!) { createBillingEntity(input: {name: $c, country: "GB", code: $c}) { billingEntity { id } userErrors { code } } }',
        {"c": code},
        token=world.root_admin.token,
    )
    entity_id: str = only(data)["billingEntity"]["id"]
    return entity_id


async def billed_partner(
    gql: GraphQLClient,
    db: Database,
    world: World,
    entity_id: str,
    currency: str,
    prices: tuple[str, str],
    since: datetime,
) -> Billed:
    """A partner (through the API) with one managed tenant on a tenant and a support plan at
    ``prices``, billed since ``since``."""
    root = world.root_admin.token
    partner = await create_tenant(db, world.root, world.root_admin, world.root, currency=currency)
    only(
        await gql.data(
            "mutation($t: ID!, $e: ID!) { setPartner(input: {tenantId: $t, isPartner: true, billingEntityId: $e}) { tenant { id } userErrors { code } } }",
            {"t": gid("Tenant", partner.id), "e": entity_id},
            token=root,
        )
    )
    plans = [
        only(
            await gql.data(
                'mutation($p: ID!, $k: PlanKind!, $m: Decimal!) { createPlan(input: {partnerId: $p, kind: $k, name: "Plan", monthlyPrice: $m}) { plan { id } userErrors { code } } }',
                {"p": gid("Tenant", partner.id), "k": kind, "m": price},
                token=root,
            )
        )["plan"]["id"]
        for kind, price in zip(("TENANT", "SUPPORT"), prices, strict=True)
    ]
    admin = await create_actor(db, world.root, world.root_admin, partner)
    managed = await mutate(
        gql,
        admin.token,
        CREATE_MANAGED,
        i={
            "partnerId": gid("Tenant", partner.id),
            "displayName": "Hill Farm",
            "moniker": f"hill-farm-{partner.id}",
            "country": "DE",
            "tenantPlanId": plans[0],
            "supportPlanId": plans[1],
        },
    )
    managed_id = pk_of(managed["tenant"]["id"])
    async with db.write() as session:  # as if created at ``since``
        await session.execute(
            sa.update(PlanPeriod)
            .where(PlanPeriod.managed_tenant_id == managed_id)
            .values(started_at=since)
        )
        await session.execute(
            sa.update(Tenant).where(Tenant.id == managed_id).values(created_at=since)
        )
    return Billed(partner, admin.token)


async def generate(gql: GraphQLClient, billed: Billed) -> dict[str, Any]:
    data = await gql.data(
        GENERATE,
        {"i": {"partnerId": gid("Tenant", billed.partner.id), **OCTOBER}},
        token=billed.admin_token,
    )
    payload: dict[str, Any] = data["generateInvoice"]
    assert payload["userErrors"] == []
    return payload


async def account(gql: GraphQLClient, billed: Billed) -> dict[str, Any]:
    data = await gql.data(
        ACCOUNT, {"id": gid("Tenant", billed.partner.id)}, token=billed.admin_token
    )
    result: dict[str, Any] = data["tenant"]["account"]
    return result


async def account_id(gql: GraphQLClient, world: World, billed: Billed) -> str:
    data = await gql.data(
        "query($id: ID!) { tenant(id: $id) { account { id } } }",
        {"id": gid("Tenant", billed.partner.id)},
        token=world.root_admin.token,
    )
    result: str = data["tenant"]["account"]["id"]
    return result


async def test_an_invoice_debits_the_partner_and_credits_revenue_once(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    plt = await entity(gql, world, "PLT")
    # Each managed tenant was billed from Oct 15 00:00: 17 of October's 31 days.
    #   EUR  30.00 * 17/31 = 16.4516 -> 16.45;   9.99 * 17/31 = 5.4784 -> 5.48;  total 21.93
    #   JPY   1001 * 17/31 = 548.94  ->   549;    333 * 17/31 = 182.61 ->  183;  total   732
    #   BHD 12.345 * 17/31 = 6.76984 -> 6.770;  0.999 * 17/31 = 0.54784 -> 0.548; total 7.318
    cases = [
        ("EUR", ("30.00", "9.99"), "10.00", "21.93", "-11.93", "BLOCKED"),
        ("JPY", ("1001", "333"), "1000", "732", "268", "ACTIVE"),
        ("BHD", ("12.345", "0.999"), None, "7.318", "-7.318", "BLOCKED"),
    ]
    for n, (currency, prices, paid, total, balance, status) in enumerate(cases, start=1):
        billed = await billed_partner(gql, db, world, plt, currency, prices, at(2026, 10, 15))
        if paid is not None:
            account_gid = await account_id(gql, world, billed)
            assert (await top_up(gql, world.root_admin.token, account_gid, paid, f"pay-{n}"))[
                "userErrors"
            ] == []

        invoice = (await generate(gql, billed))["invoice"]

        # One entity: its invoices are numbered 1, 2, 3 in the year they are issued.
        number = f"PLT-{invoice['issuedAt'][:4]}-{n:06d}"
        assert invoice | {"id": None, "issuedAt": None} == {
            "id": None,
            "number": number,
            "issuedAt": None,
            "total": {"amount": total, "currency": currency},
            "transaction": {
                "id": invoice["transaction"]["id"],
                "kind": "PLAN_FEE",
                "amount": {"amount": f"-{total}", "currency": currency},
                "balanceAfter": {"amount": balance},
                "description": f"Invoice {number}",
                "reference": number,
            },
        }
        # Like usage, a plan fee posts past the credit limit (0 here): the partner is BLOCKED.
        assert await account(gql, billed) == {
            "balance": {"amount": balance, "currency": currency},
            "billingStatus": status,
        }
        assert await revenue(db, currency) == Decimal(total)

        again = (await generate(gql, billed))["invoice"]
        assert again == invoice
        assert (await account(gql, billed))["balance"]["amount"] == balance
        assert await revenue(db, currency) == Decimal(total)
        assert await plan_fee_count(db) == n


async def test_a_zero_invoice_is_numbered_but_moves_nothing(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    plt = await entity(gql, world, "PLT")
    # Managed from Nov 15: nothing of October to bill.
    billed = await billed_partner(gql, db, world, plt, "JPY", ("1001", "333"), at(2026, 11, 15))

    invoice = (await generate(gql, billed))["invoice"]

    assert invoice["number"] == f"PLT-{invoice['issuedAt'][:4]}-000001"
    assert invoice["total"] == {"amount": "0", "currency": "JPY"}
    assert invoice["transaction"] is None
    assert (await account(gql, billed))["balance"] == {"amount": "0", "currency": "JPY"}
    assert await revenue(db, "JPY") == 0
    assert await plan_fee_count(db) == 0


async def test_plan_fees_show_in_the_account_history_with_its_filters(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    plt = await entity(gql, world, "PLT")
    billed = await billed_partner(gql, db, world, plt, "BHD", ("12.345", "0.999"), at(2026, 10, 15))
    account_gid = await account_id(gql, world, billed)
    assert (await top_up(gql, world.root_admin.token, account_gid, "5.5", "pay"))[
        "userErrors"
    ] == []
    issued_at = (await generate(gql, billed))["invoice"]["issuedAt"]

    async def history(**filters: Any) -> list[tuple[str, str]]:
        data = await gql.data(
            HISTORY, {"id": gid("Tenant", billed.partner.id), **filters}, token=billed.admin_token
        )
        connection = data["tenant"]["account"]["transactions"]
        nodes = [(e["node"]["kind"], e["node"]["amount"]["amount"]) for e in connection["edges"]]
        assert connection["totalCount"] == len(nodes)
        return nodes

    fee, paid = ("PLAN_FEE", "-7.318"), ("TOP_UP", "5.500")
    assert await history() == [fee, paid]
    assert await history(k=["PLAN_FEE"]) == [fee]
    assert await history(k=["TOP_UP", "USAGE_CHARGE"]) == [paid]
    # The fee is posted the instant the invoice is issued: `from` takes it, `to` does not.
    assert await history(f=issued_at) == [fee]
    assert await history(t=issued_at) == [paid]
    assert await history(k=["PLAN_FEE"], t=issued_at) == []


async def test_the_fee_is_seen_where_the_invoice_is(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    plt = await entity(gql, world, "PLT")
    billed = await billed_partner(gql, db, world, plt, "EUR", ("30.00", "9.99"), at(2026, 10, 15))
    invoice = (await generate(gql, billed))["invoice"]
    node = "query($id: ID!) { node(id: $id) { ... on Invoice { transaction { kind amount { amount } } } } }"
    seen = await gql.data(node, {"id": invoice["id"]}, token=world.root_admin.token)
    assert seen["node"] == {"transaction": {"kind": "PLAN_FEE", "amount": {"amount": "-21.93"}}}
    assert (await gql.data(node, {"id": invoice["id"]}, token=world.b1_admin.token))["node"] is None

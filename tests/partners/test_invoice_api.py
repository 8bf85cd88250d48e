"""generateInvoice and the Invoice type over GraphQL, as a partner's admins use them."""

# Invoice descriptions separate their two times with an en dash.
# ruff: noqa: RUF001

from typing import Any

import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.partners.models import PlanPeriod
from tenantry.tenants.models import Tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.partners import PartnerWorld
from tests.ids import gid, pk_of
from tests.partners.conftest import at

GENERATE = """mutation($i: GenerateInvoiceInput!) { generateInvoice(input: $i) {
  invoice { id periodStart periodEnd total { amount currency } tenant { moniker }
    billingEntity { name }
    lines { description periodStart periodEnd amount { amount currency }
            managedTenant { moniker } plan { name } } }
  userErrors { field code message } } }"""
NODE = """query($id: ID!) { node(id: $id) { ... on Invoice {
  total { amount } lines { managedTenant { moniker } plan { name } } } } }"""
OCTOBER = {"periodStart": "2026-10-01T00:00:00Z", "periodEnd": "2026-11-01T00:00:00Z"}


async def generate(gql: GraphQLClient, token: str, partner_id: int) -> dict[str, Any]:
    data = await gql.data(
        GENERATE, {"i": {"partnerId": gid("Tenant", partner_id), **OCTOBER}}, token=token
    )
    payload: dict[str, Any] = data["generateInvoice"]
    return payload


async def created_mid_october(db: Database, managed_id: int) -> None:
    """As if the managed tenant (made today by the fixture) had been created on Oct 15."""
    async with db.write() as session:
        await session.execute(
            sa.update(PlanPeriod)
            .where(PlanPeriod.managed_tenant_id == managed_id)
            .values(started_at=at(2026, 10, 15))
        )
        await session.execute(
            sa.update(Tenant).where(Tenant.id == managed_id).values(created_at=at(2026, 10, 15))
        )


async def test_a_partner_admin_invoices_the_month_and_sees_each_line(
    gql: GraphQLClient, db: Database, partners: PartnerWorld
) -> None:
    await created_mid_october(db, pk_of(partners.managed_id))

    payload = await generate(gql, partners.partner_admin.token, partners.partner.id)

    assert payload["userErrors"] == []
    invoice = payload["invoice"]
    # October has 31 days; Oct 15 00:00 to Nov 1 00:00 is 17 of them.
    #   Basic     10.00 * 17/31 = 5.4838... -> 5.48
    #   Standard   9.99 * 17/31 = 5.4783... -> 5.48
    assert invoice | {"id": None, "lines": None} == {
        "id": None,
        "periodStart": "2026-10-01T00:00:00+00:00",
        "periodEnd": "2026-11-01T00:00:00+00:00",
        "total": {"amount": "10.96", "currency": "USD"},
        "tenant": {"moniker": "p"},
        "billingEntity": {"name": "Phystack Ltd"},
        "lines": None,
    }
    assert invoice["lines"] == [
        {
            "description": f"Acme Farms — {plan} ({kind} plan), 2026-10-15 00:00 – 2026-11-01 00:00 UTC",
            "periodStart": "2026-10-15T00:00:00+00:00",
            "periodEnd": "2026-11-01T00:00:00+00:00",
            "amount": {"amount": "5.48", "currency": "USD"},
            "managedTenant": {"moniker": "acme-farms"},
            "plan": {"name": plan},
        }
        for plan, kind in (("Basic", "TENANT"), ("Standard", "SUPPORT"))
    ]
    again = await generate(gql, partners.partner_admin.token, partners.partner.id)
    assert again["invoice"]["id"] == invoice["id"]


async def test_who_may_invoice_and_who_sees_the_invoice(
    gql: GraphQLClient, db: Database, partners: PartnerWorld
) -> None:
    await created_mid_october(db, pk_of(partners.managed_id))
    world = partners.world

    def errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
        return [(".".join(e["field"] or []), e["code"]) for e in payload["userErrors"]]

    assert errors(await generate(gql, world.b1_admin.token, partners.partner.id)) == [
        ("input.partnerId", "NOT_FOUND")
    ]
    assert errors(await generate(gql, partners.partner_viewer.token, partners.partner.id)) == [
        ("", "FORBIDDEN")
    ]
    assert errors(await generate(gql, world.a1_admin.token, world.a1.id)) == [
        ("input.partnerId", "NOT_PARTNER")
    ]

    invoice_id = (await generate(gql, partners.reseller_admin.token, partners.partner.id))[
        "invoice"
    ]["id"]

    async def node(token: str) -> Any:
        return (await gql.data(NODE, {"id": invoice_id}, token=token))["node"]

    line = {"managedTenant": {"moniker": "acme-farms"}, "plan": {"name": "Basic"}}
    assert (await node(partners.partner_admin.token))["lines"][0] == line
    # The reseller sees its partner's invoice, but not into the partner's managed tenant.
    assert (await node(partners.reseller_admin.token))["lines"][0] == line | {"managedTenant": None}
    assert await node(world.b1_admin.token) is None
    assert await node(partners.managed_admin.token) is None

"""Partners and managed tenants: flags, catalogs, locked inheritance, the billing face."""

from typing import Any

import procrastinate
import pytest

from tenantry.app import create_app
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import Actor
from tests.fixtures.graphql import GraphQLClient, client_of
from tests.fixtures.money import (
    RECORD,
    codes,
    create_customer,
    create_endpoint,
    create_operator,
    only,
    record,
    set_tenant,
)
from tests.fixtures.partners import CREATE_MANAGED, PartnerWorld, mutate
from tests.fixtures.world import World
from tests.ids import gid, pk_of

SET_PARTNER = "mutation($t: ID!, $on: Boolean!) { setPartner(input: {tenantId: $t, isPartner: $on}) { tenant { isPartner } userErrors { field code } } }"
SET_PARTNER_WITH_ENTITY = "mutation($t: ID!, $e: ID!) { setPartner(input: {tenantId: $t, isPartner: true, billingEntityId: $e}) { tenant { isPartner billingEntity { code } } userErrors { field code } } }"
CREATE_ENTITY = 'mutation($n: String!, $c: String) { createBillingEntity(input: {name: $n, country: "GB", code: $c}) { billingEntity { id code } userErrors { field code } } }'
CATALOG = "query($id: ID!, $k: PlanKind!) { tenant(id: $id) { planCatalog(kind: $k) { name monthlyPrice { amount currency } } } }"
FACE = """query($id: ID!) { node(id: $id) { ... on Tenant { name kind country currency partnerAccess
  billingEntity { name } tenantPlan { name } supportPlan { name } parent { moniker }
  account { balance { amount currency } }
  users { totalCount } customers { totalCount } sponsorOperators { name } auditEvents { totalCount }
  usage(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { totals { kind } } } } }"""


def managed_input(pw: PartnerWorld, moniker: str, **extra: object) -> dict[str, object]:
    return {
        "partnerId": gid("Tenant", pw.partner.id),
        "displayName": "Other",
        "moniker": moniker,
        "country": "FR",
        "tenantPlanId": pw.plans["Gold"],
        "supportPlanId": pw.plans["Premium"],
        **extra,
    }


async def test_only_platform_admins_set_the_partner_flag(gql: GraphQLClient, world: World) -> None:
    assert codes(
        await mutate(gql, world.a1_admin.token, SET_PARTNER, t=gid("Tenant", world.a1x.id), on=True)
    ) == [("", "FORBIDDEN")]
    assert codes(
        await mutate(gql, world.a1_admin.token, SET_PARTNER, t=gid("Tenant", world.b1.id), on=True)
    ) == [("input.tenantId", "NOT_FOUND")]
    entity = await mutate(gql, world.root_admin.token, CREATE_ENTITY, n="Platform Ltd", c=None)
    assert (
        await mutate(
            gql,
            world.root_admin.token,
            SET_PARTNER_WITH_ENTITY,
            t=gid("Tenant", world.a1x.id),
            e=entity["billingEntity"]["id"],
        )
    )["tenant"] == {"isPartner": True, "billingEntity": {"code": "PLA"}}


async def test_the_partner_flag_requires_a_billing_entity(gql: GraphQLClient, world: World) -> None:
    root = world.root_admin.token
    # Even when the platform has exactly one entity, the admin names it: nothing is guessed.
    entity = (await mutate(gql, root, CREATE_ENTITY, n="Platform Ltd", c="PLT"))["billingEntity"]
    refused = await mutate(gql, root, SET_PARTNER, t=gid("Tenant", world.a1.id), on=True)
    assert codes(refused) == [("input.billingEntityId", "INVALID")]
    face = "query($id: ID!) { tenant(id: $id) { isPartner billingEntity { code } } }"
    tenant = (await gql.data(face, {"id": gid("Tenant", world.a1.id)}, token=root))["tenant"]
    assert tenant == {"isPartner": False, "billingEntity": None}

    # A tenant that already has an entity keeps it when the flag goes on...
    assert (await set_tenant(gql, root, world.a1.id, billingEntityId=entity["id"]))[
        "userErrors"
    ] == []
    turned_on = await mutate(gql, root, SET_PARTNER, t=gid("Tenant", world.a1.id), on=True)
    assert turned_on == {"tenant": {"isPartner": True}, "userErrors": []}
    # ...and, a partner, cannot lose it.
    assert codes(await set_tenant(gql, root, world.a1.id, billingEntityId=None)) == [
        ("input.billingEntityId", "INVALID")
    ]
    tenant = (await gql.data(face, {"id": gid("Tenant", world.a1.id)}, token=root))["tenant"]
    assert tenant == {"isPartner": True, "billingEntity": {"code": "PLT"}}


async def test_billing_entity_codes_are_checked_unique_and_default_from_the_name(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token

    async def create(name: str, code: str | None) -> dict[str, object]:
        return await mutate(gql, root, CREATE_ENTITY, n=name, c=code)

    assert (await create("Phystack Ltd", None))["billingEntity"]["code"] == "PHY"
    assert (await create("Phystack Holdings", None))["billingEntity"]["code"] == "PHY2"
    assert (await create("Émile & Co", None))["billingEntity"]["code"] == "EMI"
    assert (await create("—", None))["billingEntity"]["code"] == "BE"
    assert (await create("Platform Ltd", "PLT"))["billingEntity"]["code"] == "PLT"
    for name, code, error in (
        ("Other 1", "PLT", "TAKEN"),
        ("Other 2", "plt", "INVALID"),
        ("Other 3", "P", "INVALID"),
        ("Other 4", "ABCDEFGHIJK", "INVALID"),
        ("Other 5", "PL-T", "INVALID"),
        ("Other 6", "ＰＬＴ", "INVALID"),  # noqa: RUF001 - full-width letters are not ASCII
    ):
        assert codes(await create(name, code)) == [("input.code", error)], code
    listed = await gql.data("{ billingEntities { code } }", token=root)
    assert sorted(e["code"] for e in listed["billingEntities"]) == [
        "BE",
        "EMI",
        "PHY",
        "PHY2",
        "PLT",
    ]


async def test_catalog_is_sorted_by_price_and_only_partners_have_one(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    data = await gql.data(
        CATALOG,
        {"id": gid("Tenant", partners.partner.id), "k": "TENANT"},
        token=partners.partner_viewer.token,
    )
    assert data["tenant"]["planCatalog"] == [
        {"name": "Basic", "monthlyPrice": {"amount": "10.00", "currency": "USD"}},
        {"name": "Gold", "monthlyPrice": {"amount": "30.00", "currency": "USD"}},
    ]
    not_partner = await mutate(
        gql,
        partners.world.root_admin.token,
        'mutation($p: ID!) { createPlan(input: {partnerId: $p, kind: TENANT, name: "X", monthlyPrice: "1"}) { plan { id } userErrors { field code } } }',
        p=gid("Tenant", partners.world.a1.id),
    )
    assert codes(not_partner) == [("input.partnerId", "NOT_PARTNER")]
    by_partner = await mutate(
        gql,
        partners.partner_admin.token,
        'mutation($p: ID!) { createPlan(input: {partnerId: $p, kind: TENANT, name: "X", monthlyPrice: "1"}) { plan { id } userErrors { field code } } }',
        p=gid("Tenant", partners.partner.id),
    )
    assert codes(by_partner) == [("", "FORBIDDEN")]


async def test_managed_tenant_inherits_locked_currency_and_billing_entity(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    created = await mutate(
        gql, partners.partner_admin.token, CREATE_MANAGED, i=managed_input(partners, "fr-shop")
    )
    assert created["userErrors"] == []
    assert created["tenant"] | {"id": None} == {
        "id": None,
        "name": "Other",
        "moniker": "fr-shop",
        "kind": "MANAGED",
        "country": "FR",
        "currency": "USD",
        "billingEntity": {"name": "Phystack Ltd"},
        "partnerAccess": False,
        "tenantPlan": {"name": "Gold"},
        "supportPlan": {"name": "Premium"},
        "account": {"balance": {"amount": "0.00", "currency": "USD"}},
    }
    update = "mutation($i: UpdateTenantInput!) { updateTenant(input: $i) { tenant { id } userErrors { field code } } }"
    for change in ({"currency": "EUR"}, {"billingEntityId": None}):
        locked = await mutate(
            gql,
            partners.world.root_admin.token,
            update,
            i={"id": created["tenant"]["id"], **change},
        )
        assert [c for _, c in codes(locked)] == ["LOCKED"]


async def test_managed_tenant_rules(gql: GraphQLClient, partners: PartnerWorld) -> None:
    token = partners.partner_admin.token
    bad = await mutate(
        gql,
        token,
        CREATE_MANAGED,
        i=managed_input(
            partners, "Bad Moniker", country="XX", tenantPlanId=partners.plans["Premium"]
        ),
    )
    assert sorted(codes(bad)) == [
        ("input.country", "INVALID"),
        ("input.moniker", "INVALID"),
        ("input.tenantPlanId", "INVALID"),
    ]
    taken = await mutate(gql, token, CREATE_MANAGED, i=managed_input(partners, "acme-farms"))
    assert codes(taken) == [("input.moniker", "TAKEN")]
    # A non-partner, and a managed tenant, cannot have managed tenants.
    a1 = partners.world.a1_admin
    assert codes(
        await mutate(
            gql,
            a1.token,
            CREATE_MANAGED,
            i=managed_input(partners, "x1", partnerId=gid("Tenant", a1.tenant.id)),
        )
    ) == [("input.partnerId", "NOT_PARTNER")]
    managed_self = await mutate(
        gql,
        partners.managed_admin.token,
        CREATE_MANAGED,
        i=managed_input(partners, "x2", partnerId=partners.managed_id),
    )
    assert codes(managed_self) == [("input.partnerId", "NOT_PARTNER")]
    never = await mutate(
        gql, partners.world.root_admin.token, SET_PARTNER, t=partners.managed_id, on=True
    )
    assert codes(never) == [("input.tenantId", "INVALID")]


async def test_managed_tenants_are_listed_only_for_the_partners_admins(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    q = "query($id: ID!) { tenant(id: $id) { managedTenants { totalCount edges { node { moniker } } } } }"
    variables = {"id": gid("Tenant", partners.partner.id)}
    assert (await gql.data(q, variables, token=partners.partner_admin.token))["tenant"][
        "managedTenants"
    ] == {
        "totalCount": 1,
        "edges": [{"node": {"moniker": "acme-farms"}}],
    }
    for actor in (partners.partner_viewer, partners.reseller_admin, partners.world.root_admin):
        assert (await gql.data(q, variables, token=actor.token))["tenant"]["managedTenants"] is None


async def test_partner_sees_the_billing_face_only_until_partner_access(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    face = (await gql.data(FACE, {"id": partners.managed_id}, token=partners.partner_admin.token))[
        "node"
    ]
    assert face == {
        "name": "Acme Farms",
        "kind": "MANAGED",
        "country": "DE",
        "currency": "USD",
        "partnerAccess": False,
        "billingEntity": {"name": "Phystack Ltd"},
        "tenantPlan": {"name": "Basic"},
        "supportPlan": {"name": "Standard"},
        "parent": {"moniker": "p"},
        "account": {"balance": {"amount": "0.00", "currency": "USD"}},
        # The workspace stays closed: it has a user, the partner sees none.
        "users": {"totalCount": 0},
        "customers": {"totalCount": 0},
        "sponsorOperators": [],
        "auditEvents": {"totalCount": 0},
        "usage": {"totals": []},
    }
    # Not the partner's to open; the managed tenant's own admin opens it.
    update = "mutation($i: UpdateTenantInput!) { updateTenant(input: $i) { tenant { partnerAccess } userErrors { field code } } }"
    assert codes(
        await mutate(
            gql,
            partners.partner_admin.token,
            update,
            i={"id": partners.managed_id, "partnerAccess": True},
        )
    ) == [("", "FORBIDDEN")]
    opened = await mutate(
        gql,
        partners.managed_admin.token,
        update,
        i={"id": partners.managed_id, "partnerAccess": True},
    )
    assert opened == {"tenant": {"partnerAccess": True}, "userErrors": []}
    inside = (
        await gql.data(FACE, {"id": partners.managed_id}, token=partners.partner_admin.token)
    )["node"]
    assert inside["users"] == {"totalCount": 1}
    closed = await mutate(
        gql,
        partners.managed_admin.token,
        update,
        i={"id": partners.managed_id, "partnerAccess": False},
    )
    assert closed["userErrors"] == []
    assert (await gql.data(FACE, {"id": partners.managed_id}, token=partners.partner_admin.token))[
        "node"
    ]["users"] == {"totalCount": 0}
    # The partner's ancestors never see the managed tenant at all.
    assert (await gql.data(FACE, {"id": partners.managed_id}, token=partners.reseller_admin.token))[
        "node"
    ] is None


async def test_plan_changes_are_the_partners(gql: GraphQLClient, partners: PartnerWorld) -> None:
    update = "mutation($i: UpdateTenantInput!) { updateTenant(input: $i) { tenant { tenantPlan { name } supportPlan { name } } userErrors { field code } } }"
    changed = await mutate(
        gql,
        partners.partner_admin.token,
        update,
        i={
            "id": partners.managed_id,
            "tenantPlanId": partners.plans["Gold"],
            "name": "Acme Farms GmbH",
        },
    )
    assert changed == {
        "tenant": {"tenantPlan": {"name": "Gold"}, "supportPlan": {"name": "Standard"}},
        "userErrors": [],
    }
    wrong_kind = await mutate(
        gql,
        partners.partner_admin.token,
        update,
        i={"id": partners.managed_id, "supportPlanId": partners.plans["Gold"]},
    )
    assert codes(wrong_kind) == [("input.supportPlanId", "INVALID")]
    own = await mutate(
        gql,
        partners.managed_admin.token,
        update,
        i={"id": partners.managed_id, "tenantPlanId": partners.plans["Basic"]},
    )
    assert codes(own) == [("input.tenantPlanId", "FORBIDDEN")]
    # Without partner access, the partner edits only the billing face.
    workspace = await mutate(
        gql,
        partners.partner_admin.token,
        update,
        i={"id": partners.managed_id, "subscriptionTypes": ["INTEGRATED", "STANDALONE"]},
    )
    assert codes(workspace) == [("", "FORBIDDEN")]


async def test_invoices_are_listed_on_the_partner(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    generate = """mutation($p: ID!) { generateInvoice(input: {partnerId: $p, periodStart: "2026-10-01T00:00:00Z",
      periodEnd: "2026-11-01T00:00:00Z"}) { invoice { id total { amount currency } billingEntity { name } } userErrors { code } } }"""
    first = await mutate(
        gql, partners.partner_admin.token, generate, p=gid("Tenant", partners.partner.id)
    )
    # The managed tenant was created after October: nothing to bill, but the invoice exists once.
    assert first["invoice"]["total"] == {"amount": "0.00", "currency": "USD"}
    assert first["invoice"]["billingEntity"] == {"name": "Phystack Ltd"}
    again = await mutate(
        gql, partners.partner_admin.token, generate, p=gid("Tenant", partners.partner.id)
    )
    assert again["invoice"]["id"] == first["invoice"]["id"]
    listed = await gql.data(
        "query($id: ID!) { tenant(id: $id) { invoices { totalCount edges { node { id } } } } }",
        {"id": gid("Tenant", partners.partner.id)},
        token=partners.partner_viewer.token,
    )
    assert listed["tenant"]["invoices"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": first["invoice"]["id"]}}],
    }


async def test_managed_tenants_currency_and_billing_entity_are_locked_and_from_the_partner(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    q = "query($id: ID!) { tenant(id: $id) { settingSources { name inherited locked source { moniker } } } }"
    data = await gql.data(q, {"id": partners.managed_id}, token=partners.managed_admin.token)
    by_name = {s["name"]: s for s in data["tenant"]["settingSources"]}
    # The managed tenant's own admin cannot see its partner: locked, inherited, source hidden.
    assert by_name["currency"] == {
        "name": "currency",
        "inherited": True,
        "locked": True,
        "source": None,
    }
    assert by_name["billingEntity"] == {
        "name": "billingEntity",
        "inherited": True,
        "locked": True,
        "source": None,
    }
    by_partner = await gql.data(q, {"id": partners.managed_id}, token=partners.partner_admin.token)
    assert {s["name"]: s["source"] for s in by_partner["tenant"]["settingSources"]}["currency"] == {
        "moniker": "p"
    }


GRANT = "mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t, sponsorOperatorIds: [$o]}) { userErrors { code } } }"
USAGE_ROWS = """query($id: ID!) { tenant(id: $id) {
  usage(from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z", includeDescendants: true) {
    totals { kind quantity } endpoints { edges { node { kind quantity endpoint { id } } } } } } }"""


@pytest.mark.parametrize("compiled", [False, True])
async def test_usage_rows_list_only_endpoints_the_caller_sees(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    database_url: str,
    partners: PartnerWorld,
    compiled: bool,
) -> None:
    """Usage of a subtree with a managed tenant in it: the totals count its usage (the
    money is the caller's), the rows show its endpoints only to those who see them."""
    root = partners.world.root_admin.token
    operator = await create_operator(gql, root, "Op")
    # Granted down the path to the managed tenant (a grant needs the parent's).
    for tenant in (partners.reseller, partners.partner):
        only(await gql.data(GRANT, {"t": gid("Tenant", tenant.id), "o": operator}, token=root))
    only(await gql.data(GRANT, {"t": partners.managed_id, "o": operator}, token=root))
    customer = (await create_customer(gql, root, pk_of(partners.managed_id)))["customer"]
    endpoint = (await create_endpoint(gql, root, customer["id"], operator))["endpoint"]["id"]
    recorded = await gql.data(RECORD, {"r": [record(endpoint, "m1", "2.5")]}, token=root)
    assert recorded["recordUsage"]["userErrors"] == []
    settings = Settings(database_url=database_url, compiled_reads=compiled)
    async with client_of(create_app(settings, db=db, jobs=jobs)) as client:

        async def rows(actor: Actor, tenant: Tenant) -> dict[str, Any]:
            variables = {"id": gid("Tenant", tenant.id)}
            usage: dict[str, Any] = (await client.data(USAGE_ROWS, variables, token=actor.token))[
                "tenant"
            ]["usage"]
            return usage

        row = {"node": {"kind": "DATA", "quantity": "2.5", "endpoint": {"id": endpoint}}}
        totals = [{"kind": "DATA", "quantity": "2.5"}]
        everything = {"totals": totals, "endpoints": {"edges": [row]}}
        assert await rows(partners.world.root_admin, partners.reseller) == everything
        assert await rows(partners.partner_admin, partners.partner) == {
            "totals": totals,
            "endpoints": {"edges": []},
        }
        assert await rows(partners.reseller_admin, partners.reseller) == {
            "totals": totals,
            "endpoints": {"edges": []},
        }
        await set_tenant(
            gql, partners.managed_admin.token, pk_of(partners.managed_id), partnerAccess=True
        )
        assert await rows(partners.partner_admin, partners.partner) == everything

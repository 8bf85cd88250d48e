"""Every field of Tenant, as a partner admin sees a managed tenant without partner access.

The field list comes from the schema itself, so a field added later is walked too: it must
either be part of the billing face (``BILLING_FACE``) or answer null/empty here.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)
from strawberry.utils.str_converters import to_snake_case

from tenantry.api.schema import build_schema
from tenantry.auth.scope import BILLING_FACE
from tenantry.settings import Settings
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import create_customer, create_tariff, only, per_mb, set_tenant
from tests.fixtures.partners import PartnerWorld
from tests.ids import pk_of

FROM, TO = "2020-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"
# A value for every required argument type of the fields walked; a new required argument
# type fails the walk until it is given one here.
ARGUMENTS = {"DateTime": [f'"{FROM}"', f'"{TO}"'], "PlanKind": ["TENANT"]}
MAX_DEPTH = 4
SECRET_URL = "https://pay.example.com/topup?key=s3cr3t&c={customer_id}"
# Workspace data the managed tenant holds (made in the fixture): with partner access its
# partner sees all of it, without it none.
WORKSPACE = {
    "customer_top_up_url",
    "subscription_types",
    "inherit_sponsor_operators",
    "sub_tenants",
    "users",
    "tariffs",
    "customers",
    "reports",
    "audit_events",
}


def _arguments(field: GraphQLField) -> str:
    given = []
    for name, argument in field.args.items():
        if not isinstance(argument.type, GraphQLNonNull) or argument.default_value is not Undefined:
            continue
        type_name = get_named_type(argument.type).name
        if type_name not in ARGUMENTS:
            raise AssertionError(f"No test value for a required {type_name} argument ({name})")
        values = ARGUMENTS[type_name]
        given.append(f"{name}: {values[len(given) % len(values)]}")
    return f"({', '.join(given)})" if given else ""


def _selection(type_: GraphQLNamedType, depth: int) -> str | None:
    """Every field of ``type_`` down to MAX_DEPTH; other tenants only by id."""
    if isinstance(type_, (GraphQLInterfaceType, GraphQLUnionType)):
        return "{ __typename }"
    if not isinstance(type_, GraphQLObjectType):
        return ""
    if type_.name == "Tenant" and depth > 0:
        return "{ id }"
    parts = []
    for name, field in type_.fields.items():
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType) and depth >= MAX_DEPTH:
            continue
        selection = _selection(inner, depth + 1)
        if selection is not None:
            parts.append(f"{name}{_arguments(field)} {selection}")
    return "{ " + " ".join(parts) + " }" if parts else None


def tenant_fields() -> dict[str, str]:
    """Each Tenant field's name and a query that selects it (and all below it)."""
    schema = build_schema(Settings())._schema
    tenant = schema.type_map["Tenant"]
    assert isinstance(tenant, GraphQLObjectType)
    queries = {}
    for name, field in tenant.fields.items():
        selection = _selection(get_named_type(field.type), 1)
        queries[name] = (
            f"query($id: ID!) {{ node(id: $id) {{ ... on Tenant {{ "
            f"{name}{_arguments(field)} {selection} }} }} }}"
        )
    return queries


def is_empty(value: Any) -> bool:
    """Nothing to see: null, false, zero, an empty list, an argument echoed back, or an
    object (a page, a sum of money) made only of those."""
    if value is None or value is False or value in ([], "", 0, FROM, TO):
        return True
    if isinstance(value, str):
        try:
            return Decimal(value) == 0
        except InvalidOperation:
            return False
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return is_empty(value["amount"])
        return all(is_empty(v) for v in value.values())
    return False


def lists_in(value: Any) -> list[dict[str, Any]]:
    """Every connection (anything with a totalCount) inside a value."""
    if isinstance(value, list):
        return [c for v in value for c in lists_in(v)]
    if not isinstance(value, dict):
        return []
    own = [value] if "totalCount" in value else []
    return own + [c for v in value.values() for c in lists_in(v)]


@pytest.fixture
async def busy_managed(gql: GraphQLClient, partners: PartnerWorld) -> PartnerWorld:
    """The managed tenant's own admin fills its workspace; the platform tops it up."""
    token = partners.managed_admin.token
    managed = pk_of(partners.managed_id)
    assert (
        await set_tenant(
            gql,
            token,
            managed,
            customerTopUpUrl=SECRET_URL,
            subscriptionTypes=["INTEGRATED", "STANDALONE"],
            inheritSponsorOperators=True,
        )
    )["userErrors"] == []
    tariff = await create_tariff(gql, token, managed, per_mb("0.05"))
    assert (await create_customer(gql, token, managed, tariffId=tariff))["userErrors"] == []
    only(
        await gql.data(
            'mutation($p: ID!) { createSubTenant(input: {parentId: $p, name: "Shop", moniker: "acme-shop", subscriptionTypes: [INTEGRATED]}) { tenant { id } userErrors { code } } }',
            {"p": partners.managed_id},
            token=token,
        )
    )
    only(
        await gql.data(
            'mutation($t: ID!) { requestUsageReport(input: {tenantId: $t, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z"}) { report { id } userErrors { code } } }',
            {"t": partners.managed_id},
            token=token,
        )
    )
    account = (
        await gql.data(
            "query($id: ID!) { node(id: $id) { ... on Tenant { account { id } } } }",
            {"id": partners.managed_id},
            token=token,
        )
    )["node"]["account"]["id"]
    only(
        await gql.data(
            'mutation($a: ID!) { topUpAccount(input: {accountId: $a, amount: "5", idempotencyKey: "face"}) { userErrors { code } } }',
            {"a": account},
            token=partners.world.root_admin.token,
        )
    )
    return partners


async def walk(gql: GraphQLClient, token: str, tenant_id: str) -> dict[str, Any]:
    """Each Tenant field on its own request (so each may take its own read path)."""
    seen = {}
    for name, query in tenant_fields().items():
        data = await gql.data(query, {"id": tenant_id}, token=token)
        assert data["node"] is not None
        seen[to_snake_case(name)] = data["node"][name]
    return seen


async def test_a_partner_sees_only_the_billing_face_of_a_closed_managed_tenant(
    gql: GraphQLClient, busy_managed: PartnerWorld
) -> None:
    partners = busy_managed
    seen = await walk(gql, partners.partner_admin.token, partners.managed_id)
    leaks = {name: value for name, value in seen.items() if name not in BILLING_FACE}
    assert {name: value for name, value in leaks.items() if not is_empty(value)} == {}
    # The face itself holds no workspace either: no list inside it has anything in it.
    for name in BILLING_FACE & set(seen):
        assert all(c["totalCount"] == 0 and c["edges"] == [] for c in lists_in(seen[name])), name
    # An inherited setting shows only when the field it describes does.
    assert {to_snake_case(s["name"]) for s in seen["setting_sources"]} <= BILLING_FACE
    assert SECRET_URL not in str(seen)
    # The face is there.
    assert seen["name"] == "Acme Farms"
    assert seen["moniker"] == "acme-farms"
    assert seen["country"] == "DE"
    assert seen["tenant_plan"]["name"] == "Basic"
    assert seen["support_plan"]["name"] == "Standard"
    assert seen["account"]["balance"] == {"amount": "5.00", "currency": "USD"}


async def test_the_same_walk_shows_the_workspace_once_partner_access_is_on(
    gql: GraphQLClient, busy_managed: PartnerWorld
) -> None:
    """The walk above can see a leak: here every workspace field has something to show."""
    partners = busy_managed
    await set_tenant(
        gql, partners.managed_admin.token, pk_of(partners.managed_id), partnerAccess=True
    )
    seen = await walk(gql, partners.partner_admin.token, partners.managed_id)
    assert {name for name in WORKSPACE if is_empty(seen[name])} == set()
    assert seen["customer_top_up_url"] == SECRET_URL
    assert any(s["value"] == SECRET_URL for s in seen["setting_sources"])
    assert lists_in(seen["account"])[0]["totalCount"] == 1


def test_every_tenant_field_is_walked() -> None:
    assert "settingSources" in tenant_fields()
    assert {to_snake_case(name) for name in tenant_fields()} >= BILLING_FACE

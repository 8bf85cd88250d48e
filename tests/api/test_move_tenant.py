"""moveTenant through the API: the dry run's consequences, the refusals, history kept to the
cent, new usage rated up the new branch, and who sees the moved sub-tree before and after.

Tree (tests/fixtures/world.py, all EUR), priced as in test_usage.py:
    platform  <- a pays 0.01/MB (platform's tariff)
      a       <- a1 pays 0.02/MB ("A to A1", a's tariff)
        a1    <- its customer pays 0.05/MB (a1's tariff), per started MB
          a1x
      b       (pays nothing)
        b1
"""

from typing import Any

import pytest
import sqlalchemy as sa

from tenantry.audit.models import AuditEvent
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import Actor, create_actor, create_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    FROM,
    RECORD,
    TO,
    Priced,
    create_customer,
    create_endpoint,
    create_operator,
    create_tariff,
    per_mb,
    record,
    set_tenant,
)
from tests.fixtures.partners import PartnerWorld
from tests.fixtures.world import World
from tests.ids import gid, pk_of

MOVE = """mutation($i: MoveTenantInput!) { moveTenant(input: $i) {
  tenant { moniker depth parent { moniker } tenantTariff { name } }
  dryRun changes userErrors { field code message } } }"""

USAGE = """query($id: ID!, $from: DateTime!, $to: DateTime!, $sub: Boolean!) { tenant(id: $id) {
  usage(from: $from, to: $to, includeDescendants: $sub) {
    totals { kind quantity cost { amount } revenue { amount } }
    endpoints { edges { node { kind quantity cost { amount } } } } } } }"""


@pytest.fixture(params=["resolver", "compiled"])
def settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    """Every test here runs on both read paths."""
    return Settings(database_url=database_url, compiled_reads=request.param == "compiled")


@pytest.fixture
async def priced(priced: Priced, gql: GraphQLClient, world: World) -> Priced:
    """The priced tree, with B granted the operator the priced endpoint uses, so that A1 can
    move under B (a direct grant must be available to the parent)."""
    root = world.root_admin.token
    query = "query($id: ID!) { node(id: $id) { ... on Endpoint { sponsorOperator { id } } } }"
    endpoint = (await gql.data(query, {"id": priced.endpoint_id}, token=root))["node"]
    grant = """mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t,
               sponsorOperatorIds: [$o]}) { userErrors { code } } }"""
    variables = {"t": gid("Tenant", world.b.id), "o": endpoint["sponsorOperator"]["id"]}
    assert (await gql.data(grant, variables, token=root))["grantSponsorOperators"] == {
        "userErrors": []
    }
    return priced


async def move(
    gql: GraphQLClient, token: str, tenant: Tenant, new_parent: Tenant, **extra: Any
) -> dict[str, Any]:
    variables = {
        "i": {"tenantId": gid("Tenant", tenant.id), "newParentId": gid("Tenant", new_parent.id)}
        | extra
    }
    payload: dict[str, Any] = (await gql.data(MOVE, variables, token=token))["moveTenant"]
    return payload


def errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(e["field"] or []), e["code"]) for e in payload["userErrors"]]


async def figures(
    gql: GraphQLClient, tenant: Tenant, token: str, *, sub: bool = True
) -> list[tuple[str, str, str, str]]:
    variables = {"id": gid("Tenant", tenant.id), "from": FROM, "to": TO, "sub": sub}
    usage = (await gql.data(USAGE, variables, token=token))["tenant"]["usage"]
    by_endpoint = [
        (e["node"]["kind"], e["node"]["quantity"], e["node"]["cost"]["amount"])
        for e in usage["endpoints"]["edges"]
    ]
    totals = [
        (t["kind"], t["quantity"], t["cost"]["amount"], t["revenue"]["amount"])
        for t in usage["totals"]
    ]
    # Per endpoint and in total, the same records and costs.
    assert [(k, q, c) for k, q, c, _ in totals] == by_endpoint
    return totals


async def parent_of(db: Database, tenant: Tenant) -> int | None:
    async with db.read() as session:
        return await session.scalar(sa.select(Tenant.parent_id).where(Tenant.id == tenant.id))


async def test_dry_run_lists_every_consequence_and_changes_nothing(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    root = world.root_admin.token
    payload = await move(gql, root, world.a1, world.b)
    assert payload == {
        "tenant": {
            "moniker": "a1",
            "depth": 2,
            "parent": {"moniker": "a"},
            "tenantTariff": {"name": "Tariff"},
        },
        "dryRun": True,
        "changes": [
            "Moves 2 tenants (A1 and everything under it) from A to B.",
            "A1's tenant tariff 'Tariff' of A is cleared: B charges A1 nothing until one is set.",
            "No longer visible to the admins of A.",
            "Visible from now on to the admins of B.",
            "Usage already rated stays in the figures of the tenants it was rated up to; "
            "usage rated from now on goes up through B.",
        ],
        "userErrors": [],
    }
    # dryRun: null is a dry run too; nothing moved, and a dry run leaves no audit event.
    assert (await move(gql, root, world.a1, world.b, dryRun=None))["dryRun"] is True
    assert await parent_of(db, world.a1) == world.a.id
    async with db.read() as session:
        actions = (await session.scalars(sa.select(AuditEvent.action))).all()
    assert "moveTenant" not in actions


async def test_move_keeps_history_and_rates_new_usage_up_the_new_branch(
    gql: GraphQLClient, db: Database, world: World, priced: Priced, ledger_stays_balanced: None
) -> None:
    root = world.root_admin.token
    # 10.5 MB is 11 started MB: the customer pays 0.55 to a1, a1 0.22 to a, a 0.11 to the root.
    await gql.data(RECORD, {"r": [record(priced.endpoint_id, "e1", "10.5")]}, token=root)
    before = {t.moniker: await figures(gql, t, root) for t in (world.root, world.a, world.a1)}
    assert before == {
        "platform": [("DATA", "10.5", "0.00", "0.11")],
        "a": [("DATA", "10.5", "0.11", "0.22")],
        "a1": [("DATA", "10.5", "0.22", "0.55")],
    }
    own_a1 = await figures(gql, world.a1, root, sub=False)
    b_to_a1 = await create_tariff(gql, root, world.b.id, per_mb("0.03"), name="B to A1")

    payload = await move(gql, root, world.a1, world.b, tenantTariffId=b_to_a1, dryRun=False)
    assert payload["userErrors"] == []
    assert payload["dryRun"] is False
    assert payload["tenant"] == {
        "moniker": "a1",
        "depth": 2,
        "parent": {"moniker": "b"},
        "tenantTariff": {"name": "B to A1"},
    }
    assert payload["changes"][1] == "A1's tenant tariff becomes 'B to A1' of B (was 'Tariff' of A)."

    # History stays where it was rated: the moved tenant's own figures and subtree figures,
    # the old ancestor's, the root's; the new parent has none of it.
    for tenant in (world.root, world.a, world.a1):
        assert await figures(gql, tenant, root) == before[tenant.moniker], tenant.moniker
    assert await figures(gql, world.a1, root, sub=False) == own_a1
    assert await figures(gql, world.b, root) == []

    # 10 MB after the move: the customer pays 0.50 to a1, a1 pays 0.30 to b, b pays nothing.
    await gql.data(RECORD, {"r": [record(priced.endpoint_id, "e2", "10")]}, token=root)
    assert await figures(gql, world.a1, root) == [("DATA", "20.5", "0.52", "1.05")]
    assert await figures(gql, world.b, root) == [("DATA", "10", "0.00", "0.30")]
    assert await figures(gql, world.a, root) == before["a"]
    assert await figures(gql, world.root, root) == [("DATA", "20.5", "0.00", "0.11")]
    balances = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Tenant { moniker account { balance { amount } } } } }",
        {"ids": [gid("Tenant", t.id) for t in (world.root, world.a, world.a1, world.b)]},
        token=root,
    )
    assert {n["moniker"]: n["account"]["balance"]["amount"] for n in balances["nodes"]} == {
        "platform": "0.11",
        "a": "0.11",
        "a1": "0.53",
        "b": "0.30",
    }
    async with db.read() as session:
        event = (
            await session.execute(
                sa.select(AuditEvent.tenant_id, AuditEvent.target_id, AuditEvent.details).where(
                    AuditEvent.action == "moveTenant"
                )
            )
        ).one()
    assert event[:2] == (world.a1.id, world.a1.id)
    assert '"dryRun": false' in event[2] and gid("Tenant", world.b.id) in event[2]


async def test_a_move_with_problems_answers_them_and_changes_nothing(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    root = world.root_admin.token
    usd = await create_tenant(db, world.root, world.root_admin, world.root, currency="USD")
    cases = [
        (world.a1, world.a1, [("input.newParentId", "CYCLE")]),
        (world.a, world.a1x, [("input.newParentId", "CYCLE")]),
        (world.a1, world.a, [("input.newParentId", "INVALID")]),
        (world.a1, usd, [("input.newParentId", "CURRENCY_MISMATCH")]),
    ]
    for tenant, new_parent, expected in cases:
        dry = await move(gql, root, tenant, new_parent)
        real = await move(gql, root, tenant, new_parent, dryRun=False)
        # A dry run answers the same user errors as the real move.
        assert errors(dry) == errors(real) == expected, (tenant.moniker, new_parent.moniker)
        assert (dry["dryRun"], real["dryRun"]) == (True, False)
        assert await parent_of(db, tenant) == tenant.parent_id
    # A replacement tariff must be the new parent's own, in the tenant's currency.
    a_tariff = await create_tariff(gql, root, world.a.id, per_mb("0.02"))
    payload = await move(gql, root, world.a1, world.b, tenantTariffId=a_tariff, dryRun=False)
    assert errors(payload) == [("input.tenantTariffId", "INVALID")]
    assert await parent_of(db, world.a1) == world.a.id


async def test_who_may_move(gql: GraphQLClient, db: Database, world: World) -> None:
    a_admin = await create_actor(db, world.root, world.root_admin, world.a)
    # Not an ancestor of the new parent (b1 is not visible to a1's admins): as a bad id.
    payload = await move(gql, world.a1_admin.token, world.a1x, world.b1, dryRun=False)
    assert errors(payload) == [("input.newParentId", "NOT_FOUND")]
    # A tenant cannot move itself, and a viewer moves nothing.
    payload = await move(gql, world.a1_admin.token, world.a1, world.a1x)
    assert errors(payload) == [("input.tenantId", "FORBIDDEN")]
    payload = await move(gql, world.a1_viewer.token, world.a1x, world.a1)
    assert errors(payload) == [("", "FORBIDDEN")]
    # Admins of a tenant above both places may: a's admins move a1x from a1 to a2.
    payload = await move(gql, a_admin.token, world.a1x, world.a2, dryRun=False)
    assert payload["userErrors"] == []
    assert payload["tenant"]["parent"] == {"moniker": "a2"}
    assert await parent_of(db, world.a1x) == world.a2.id


async def test_operators_lost_are_listed_and_refused_while_endpoints_use_them(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    op, spare = await create_operator(gql, root, "Op"), await create_operator(gql, root, "Spare")
    grant = """mutation($t: ID!, $o: [ID!]!) { grantSponsorOperators(input: {tenantId: $t,
               sponsorOperatorIds: $o}) { userErrors { code } } }"""
    await gql.data(grant, {"t": gid("Tenant", world.a.id), "o": [op, spare]}, token=root)
    # a1 and a1x inherit: a1x's operators are a's, through a1.
    for tenant in (world.a1, world.a1x):
        assert (await set_tenant(gql, root, tenant.id, inheritSponsorOperators=True))[
            "userErrors"
        ] == []
    await gql.data(grant, {"t": gid("Tenant", world.b.id), "o": [op]}, token=root)
    payload = await move(gql, root, world.a1, world.b)
    assert payload["userErrors"] == []
    assert payload["changes"][1:3] == [
        "A1 loses sponsor operator(s) Spare (no endpoint uses them).",
        "A1X loses sponsor operator(s) Spare (no endpoint uses them).",
    ]
    customer = (await create_customer(gql, root, world.a1x.id))["customer"]
    assert (await create_endpoint(gql, root, customer["id"], spare))["userErrors"] == []
    await create_endpoint(gql, root, customer["id"], spare)
    for dry_run in (True, False):
        payload = await move(gql, root, world.a1, world.b, dryRun=dry_run)
        assert payload["userErrors"] == [
            {
                "field": ["input", "newParentId"],
                "code": "INVALID",
                "message": "A1X would lose sponsor operator(s) Spare, which 2 endpoints use.",
            }
        ]
    assert payload["tenant"] is None


async def test_direct_grants_the_new_parent_lacks_are_lost_withdrawn_and_refused_when_used(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    op, spare = await create_operator(gql, root, "Op"), await create_operator(gql, root, "Spare")
    grant = """mutation($t: ID!, $o: [ID!]!) { grantSponsorOperators(input: {tenantId: $t,
               sponsorOperatorIds: $o}) { userErrors { code } } }"""
    await gql.data(grant, {"t": gid("Tenant", world.a.id), "o": [op, spare]}, token=root)
    await gql.data(grant, {"t": gid("Tenant", world.b.id), "o": [op]}, token=root)
    # a1 holds Spare by a direct grant (from a), not by inheritance; a1x inherits a1's.
    await gql.data(grant, {"t": gid("Tenant", world.a1.id), "o": [spare]}, token=root)
    assert (await set_tenant(gql, root, world.a1x.id, inheritSponsorOperators=True))[
        "userErrors"
    ] == []
    operators = "query($id: ID!) { tenant(id: $id) { sponsorOperators { name } } }"

    async def names(tenant: Tenant) -> list[str]:
        data = await gql.data(operators, {"id": gid("Tenant", tenant.id)}, token=root)
        return [o["name"] for o in data["tenant"]["sponsorOperators"]]

    assert await names(world.a1) == await names(world.a1x) == ["Spare"]
    payload = await move(gql, root, world.a1, world.b)
    assert payload["userErrors"] == []
    assert payload["changes"][1:3] == [
        "A1 loses sponsor operator(s) Spare (no endpoint uses them).",
        "A1X loses sponsor operator(s) Spare (no endpoint uses them).",
    ]
    assert (await move(gql, root, world.a1, world.b, dryRun=False))["userErrors"] == []
    assert await names(world.a1) == await names(world.a1x) == []
    # The grant is withdrawn, not merely hidden: moving back does not bring it back.
    assert (await move(gql, root, world.a1, world.a, dryRun=False))["userErrors"] == []
    assert await names(world.a1) == []

    await gql.data(grant, {"t": gid("Tenant", world.a1.id), "o": [spare]}, token=root)
    customer = (await create_customer(gql, root, world.a1.id))["customer"]
    assert (await create_endpoint(gql, root, customer["id"], spare))["userErrors"] == []
    for dry_run in (True, False):
        payload = await move(gql, root, world.a1, world.b, dryRun=dry_run)
        assert payload["userErrors"] == [
            {
                "field": ["input", "newParentId"],
                "code": "INVALID",
                "message": "A1 would lose sponsor operator(s) Spare, which 1 endpoint use.",
            }
        ]
    assert await names(world.a1) == ["Spare"]


async def test_customers_paying_tariffs_of_a_tenant_left_behind_refuse_the_move(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    a_tariff = await create_tariff(gql, root, world.a.id, per_mb("0.04"))
    created = await create_customer(gql, root, world.a1x.id, tariffId=a_tariff)
    assert created["userErrors"] == []
    payload = await move(gql, root, world.a1, world.b, dryRun=False)
    assert payload["userErrors"] == [
        {
            "field": ["input", "tenantId"],
            "code": "INVALID",
            "message": "1 customer(s) of the moved tenants pay tariffs of A, which would no "
            "longer be above them: give them other tariffs first.",
        }
    ]


Q_TREE = """query($ids: [ID!]!) { tenants(first: 50) { edges { node { moniker } } }
  nodes(ids: $ids) { __typename ... on Tenant { moniker customers { edges { node { name } } } }
                     ... on Customer { name } ... on Account { currency } } }"""


async def sees(gql: GraphQLClient, actor: Actor, ids: list[str]) -> tuple[list[str], list[Any]]:
    data = await gql.data(Q_TREE, {"ids": ids}, token=actor.token)
    return [e["node"]["moniker"] for e in data["tenants"]["edges"]], data["nodes"]


async def test_old_parent_loses_sight_of_the_subtree_and_the_new_parent_gains_it(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    root = world.root_admin.token
    a_admin = await create_actor(db, world.root, world.root_admin, world.a)
    b_admin = await create_actor(db, world.root, world.root_admin, world.b)
    customer = (await create_customer(gql, root, world.a1x.id, name="Deep"))["customer"]
    ids = [
        gid("Tenant", world.a1.id),
        gid("Tenant", world.a1x.id),
        customer["id"],
        customer["account"]["id"],
    ]
    visible = [
        {"__typename": "Tenant", "moniker": "a1", "customers": {"edges": []}},
        {
            "__typename": "Tenant",
            "moniker": "a1x",
            "customers": {"edges": [{"node": {"name": "Deep"}}]},
        },
        {"__typename": "Customer", "name": "Deep"},
        {"__typename": "Account", "currency": "EUR"},
    ]
    assert await sees(gql, a_admin, ids) == (["a", "a1", "a1x", "a2"], visible)
    assert await sees(gql, b_admin, ids) == (["b", "b1"], [None] * 4)

    assert (await move(gql, root, world.a1, world.b1, dryRun=False))["userErrors"] == []

    assert await sees(gql, a_admin, ids) == (["a", "a2"], [None] * 4)
    # Oldest first: a1 and a1x were made before b.
    assert await sees(gql, b_admin, ids) == (["a1", "a1x", "b", "b1"], visible)
    assert await sees(gql, world.b1_admin, ids) == (["a1", "a1x", "b1"], visible)
    # a1's own admins still see their sub-tree, and not their new parent.
    a1 = await gql.data(
        "{ viewer { tenant { depth parent { moniker } } } }", token=world.a1_admin.token
    )
    assert a1["viewer"]["tenant"] == {"depth": 3, "parent": None}
    assert (await sees(gql, world.a1_admin, ids))[1] == visible
    # Tenants created below the moved tenant after the move are seen from the new branch.
    late = await create_tenant(db, world.root, world.root_admin, world.a1x, moniker="late")
    assert late.path == [world.root.id, world.b.id, world.b1.id, world.a1.id, world.a1x.id, late.id]
    assert "late" in (await sees(gql, b_admin, []))[0]
    assert "late" not in (await sees(gql, a_admin, []))[0]


async def test_managed_tenants_stay_with_their_partner(
    gql: GraphQLClient, db: Database, partners: PartnerWorld
) -> None:
    world = partners.world
    root = world.root_admin.token
    managed = await tenant_row(db, pk_of(partners.managed_id))
    inside = await create_tenant(db, world.root, world.root_admin, managed, moniker="inside")
    elsewhere = await create_tenant(
        db, world.root, world.root_admin, world.root, moniker="q", currency="USD"
    )
    for tenant, new_parent, expected in (
        (managed, elsewhere, [("input.tenantId", "INVALID")]),
        (inside, elsewhere, [("input.newParentId", "INVALID")]),
        (elsewhere, managed, [("input.newParentId", "INVALID")]),
    ):
        assert errors(await move(gql, root, tenant, new_parent, dryRun=False)) == expected
    # A partner moves with its managed tenants, whose scopes (their own) stay as they were.
    payload = await move(gql, root, partners.partner, elsewhere, dryRun=False)
    assert payload["userErrors"] == []
    moved = await tenant_row(db, managed.id)
    assert moved.path == [world.root.id, elsewhere.id, partners.partner.id, managed.id]
    assert moved.scope_path == managed.scope_path == [managed.id]
    assert (await tenant_row(db, partners.partner.id)).scope_path == [
        world.root.id,
        elsewhere.id,
        partners.partner.id,
    ]
    listed = await gql.data(
        "{ tenants { edges { node { moniker } } } }", token=partners.reseller_admin.token
    )
    assert [e["node"]["moniker"] for e in listed["tenants"]["edges"]] == ["r"]


async def tenant_row(db: Database, tenant_id: int) -> Tenant:
    async with db.read() as session:
        return await session.get_one(Tenant, tenant_id)

"""Isolation: acting as a1, siblings, cousins and ancestors do not exist; descendants do.

Every field that takes or returns ids has a check here. ``test_checks_fail_without_scope``
runs each check again with the scope helper switched off, and requires every one to fail:
a check that passes without the scope would prove nothing. Every check runs on both read
paths: the resolver path and the compiled one (whatever it does not compile falls back).
"""

from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa

from tenantry.api.compiler.extension import READS_BY_PATH
from tenantry.auth.scope import Scope
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tenantry.tenants.models import Tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import create_customer, create_endpoint, create_operator, create_tariff
from tests.fixtures.world import World
from tests.ids import gid

Check = Callable[[GraphQLClient, Database, World], Awaitable[None]]
CHECKS: list[Check] = []


@pytest.fixture(params=["resolver", "compiled"])
def settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    """The ``gql`` client's settings: every test here runs on both read paths."""
    return Settings(database_url=database_url, compiled_reads=request.param == "compiled")


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def hidden(w: World) -> list[Tenant]:
    return [w.root, w.a, w.a2, w.b, w.b1]


@check
async def tenant_by_id(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "query($id: ID!) { tenant(id: $id) { moniker } }"
    for t in hidden(w):
        assert (await gql.data(q, {"id": gid("Tenant", t.id)}, token=w.a1_admin.token))[
            "tenant"
        ] is None, t.moniker
    for t in (w.a1, w.a1x):
        assert (await gql.data(q, {"id": gid("Tenant", t.id)}, token=w.a1_admin.token))[
            "tenant"
        ] == {"moniker": t.moniker}


@check
async def tenant_by_moniker(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "query($m: String!) { tenant(moniker: $m) { moniker } }"
    for t in hidden(w):
        assert (await gql.data(q, {"m": t.moniker}, token=w.a1_admin.token))["tenant"] is None, (
            t.moniker
        )
    assert (await gql.data(q, {"m": "a1x"}, token=w.a1_admin.token))["tenant"] == {"moniker": "a1x"}


@check
async def node_and_nodes(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Tenant { moniker } } }"
    ids = [gid("Tenant", t.id) for t in [w.a1x, *hidden(w), w.a1]]
    data = await gql.data(q, {"ids": ids}, token=w.a1_admin.token)
    assert data["nodes"] == [{"moniker": "a1x"}, None, None, None, None, None, {"moniker": "a1"}]
    single = "query($id: ID!) { node(id: $id) { id } }"
    assert (await gql.data(single, {"id": gid("Tenant", w.b1.id)}, token=w.a1_admin.token))[
        "node"
    ] is None


@check
async def tenants_list(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "query($s: String) { tenants(search: $s) { totalCount edges { node { moniker } } } }"
    data = await gql.data(q, {}, token=w.a1_admin.token)
    assert data["tenants"]["totalCount"] == 2
    assert [e["node"]["moniker"] for e in data["tenants"]["edges"]] == ["a1", "a1x"]
    searched = await gql.data(q, {"s": "b"}, token=w.a1_admin.token)
    assert searched["tenants"] == {"totalCount": 0, "edges": []}


@check
async def parent_only_when_visible(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "{ viewer { tenant { parent { moniker } subTenants { edges { node { parent { moniker } } } } } } }"
    data = await gql.data(q, token=w.a1_admin.token)
    assert data["viewer"]["tenant"]["parent"] is None
    assert data["viewer"]["tenant"]["subTenants"]["edges"] == [
        {"node": {"parent": {"moniker": "a1"}}}
    ]


@check
async def users_and_tokens_by_id(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }"
    ids = [
        gid("User", w.b1_admin.user.id),
        gid("User", w.a2_admin.user.id),
        gid("User", w.root_admin.user.id),
        gid("ApiToken", w.a2_admin.token_id),
        gid("ApiToken", w.root_admin.token_id),
        gid("User", w.a1_viewer.user.id),
    ]
    data = await gql.data(q, {"ids": ids}, token=w.a1_admin.token)
    assert data["nodes"] == [None, None, None, None, None, {"__typename": "User"}]


@check
async def users_connection(gql: GraphQLClient, db: Database, w: World) -> None:
    # A hidden tenant's users cannot be reached through the tenant (it is null) ...
    q = "query($id: ID!) { tenant(id: $id) { users { totalCount } } }"
    assert (await gql.data(q, {"id": gid("Tenant", w.a2.id)}, token=w.a1_admin.token))[
        "tenant"
    ] is None
    data = await gql.data(q, {"id": gid("Tenant", w.a1.id)}, token=w.a1_admin.token)
    assert data["tenant"]["users"]["totalCount"] == 2


async def _problem(
    gql: GraphQLClient, mutation: str, variables: dict[str, object], token: str
) -> list[tuple[str, str]]:
    data = await gql.data(mutation, variables, token=token)
    payload = next(iter(data.values()))
    return [(e["code"], e["message"]) for e in payload["userErrors"]]


NOT_FOUND_TENANT = [("NOT_FOUND", "No such tenant.")]

CREATE_SUB = """mutation($p: ID!) { createSubTenant(input: {parentId: $p, name: "X", moniker: "x-new",
  subscriptionTypes: [INTEGRATED]}) { tenant { id } userErrors { code message } } }"""


@check
async def create_under_hidden_parent(gql: GraphQLClient, db: Database, w: World) -> None:
    for t in hidden(w):
        assert (
            await _problem(gql, CREATE_SUB, {"p": gid("Tenant", t.id)}, w.a1_admin.token)
            == NOT_FOUND_TENANT
        )
    # Exactly what a bad id gets.
    assert (
        await _problem(gql, CREATE_SUB, {"p": gid("Tenant", 999_999)}, w.a1_admin.token)
        == NOT_FOUND_TENANT
    )
    assert await _problem(gql, CREATE_SUB, {"p": "garbage"}, w.a1_admin.token) == NOT_FOUND_TENANT
    async with db.read() as session:
        assert (
            await session.scalar(sa.select(sa.func.count()).where(Tenant.moniker == "x-new")) == 0
        )


@check
async def update_hidden_tenant(gql: GraphQLClient, db: Database, w: World) -> None:
    q = 'mutation($id: ID!) { updateTenant(input: {id: $id, name: "Hijacked"}) { tenant { id } userErrors { code message } } }'
    for t in hidden(w):
        assert (
            await _problem(gql, q, {"id": gid("Tenant", t.id)}, w.a1_admin.token)
            == NOT_FOUND_TENANT
        )
    async with db.read() as session:
        assert (
            await session.scalar(sa.select(sa.func.count()).where(Tenant.name == "Hijacked")) == 0
        )


@check
async def create_user_in_hidden_tenant(gql: GraphQLClient, db: Database, w: World) -> None:
    q = """mutation($t: ID!) { createUser(input: {tenantId: $t, email: "spy@x.example", name: "Spy", role: ADMIN})
      { user { id } userErrors { code message } } }"""
    for t in hidden(w):
        assert (
            await _problem(gql, q, {"t": gid("Tenant", t.id)}, w.a1_admin.token) == NOT_FOUND_TENANT
        )


@check
async def token_for_hidden_user(gql: GraphQLClient, db: Database, w: World) -> None:
    q = 'mutation($u: ID!) { createApiToken(input: {userId: $u, name: "spy"}) { token userErrors { code message } } }'
    for actor in (w.b1_admin, w.a2_admin, w.root_admin):
        assert await _problem(gql, q, {"u": gid("User", actor.user.id)}, w.a1_admin.token) == [
            ("NOT_FOUND", "No such user.")
        ]


@check
async def revoke_hidden_token(gql: GraphQLClient, db: Database, w: World) -> None:
    q = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } userErrors { code message } } }"
    for actor in (w.a2_admin, w.root_admin):
        assert await _problem(
            gql, q, {"id": gid("ApiToken", actor.token_id)}, w.a1_admin.token
        ) == [("NOT_FOUND", "No such API token.")]
    assert (await gql.data("{ viewer { role } }", token=w.a2_admin.token))["viewer"][
        "role"
    ] == "ADMIN"


async def _cousin_objects(gql: GraphQLClient, w: World) -> dict[str, str]:
    """A priced customer with an endpoint, accounts and a report in b1, made by the root."""
    root = w.root_admin.token
    tariff = await create_tariff(gql, root, w.b1.id, [{"kind": "DATA", "unitPrice": "1"}])
    operator = await create_operator(gql, root, "Op")
    customer = (await create_customer(gql, root, w.b1.id, tariffId=tariff))["customer"]
    await gql.data(
        "mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t, sponsorOperatorIds: [$o]}) { userErrors { code } } }",
        {"t": gid("Tenant", w.b.id), "o": operator},
        token=root,
    )
    await gql.data(
        "mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t, sponsorOperatorIds: [$o]}) { userErrors { code } } }",
        {"t": gid("Tenant", w.b1.id), "o": operator},
        token=root,
    )
    endpoint = (await create_endpoint(gql, root, customer["id"], operator))["endpoint"]
    tenant = await gql.data(
        "query($id: ID!) { tenant(id: $id) { account { id } } }",
        {"id": gid("Tenant", w.b1.id)},
        token=root,
    )
    report = await gql.data(
        'mutation($t: ID!) { requestUsageReport(input: {tenantId: $t, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z"}) { report { id } } }',
        {"t": gid("Tenant", w.b1.id)},
        token=root,
    )
    return {
        "tariff": tariff,
        "customer": customer["id"],
        "customer_account": customer["account"]["id"],
        "endpoint": endpoint["id"],
        "tenant_account": tenant["tenant"]["account"]["id"],
        "report": report["requestUsageReport"]["report"]["id"],
    }


@check
async def money_objects_by_id(gql: GraphQLClient, db: Database, w: World) -> None:
    objects = await _cousin_objects(gql, w)
    data = await gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": list(objects.values())},
        token=w.a1_admin.token,
    )
    assert data["nodes"] == [None] * len(objects)


@check
async def money_mutations_on_hidden_objects(gql: GraphQLClient, db: Database, w: World) -> None:
    objects = await _cousin_objects(gql, w)
    token = w.a1_admin.token
    top_up = await gql.data(
        'mutation($a: ID!) { topUpAccount(input: {accountId: $a, amount: "1", idempotencyKey: "k"}) { userErrors { code } } }',
        {"a": objects["customer_account"]},
        token=token,
    )
    assert top_up["topUpAccount"]["userErrors"] == [{"code": "NOT_FOUND"}]
    endpoint = await create_endpoint(gql, token, objects["customer"], gid("SponsorOperator", 1))
    assert [e["code"] for e in endpoint["userErrors"]] == ["NOT_FOUND"]
    customer = await create_customer(gql, token, w.a1.id, tariffId=objects["tariff"])
    assert [e["code"] for e in customer["userErrors"]] == ["NOT_FOUND"]
    report = await gql.data(
        'mutation($t: ID!) { requestUsageReport(input: {tenantId: $t, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z"}) { userErrors { code } } }',
        {"t": gid("Tenant", w.b1.id)},
        token=token,
    )
    assert report["requestUsageReport"]["userErrors"] == [{"code": "NOT_FOUND"}]


@check
async def tariffs_of_the_parent_and_siblings(gql: GraphQLClient, db: Database, w: World) -> None:
    """a1 reads the tariff a charges it (owner hidden), not a's others nor a2's."""
    root = w.root_admin.token
    rates = [{"kind": "DATA", "unitPrice": "1"}]
    paid, spare, sibling = [await create_tariff(gql, root, w.a.id, rates) for _ in range(3)]
    own_of_sibling = await create_tariff(gql, root, w.a2.id, rates)
    for tenant, tariff in ((w.a1, paid), (w.a2, sibling)):
        await gql.data(
            "mutation($t: ID!, $f: ID!) { updateTenant(input: {id: $t, tenantTariffId: $f}) { userErrors { code } } }",
            {"t": gid("Tenant", tenant.id), "f": tariff},
            token=root,
        )
    data = await gql.data(
        """query($ids: [ID!]!, $t: ID!) { nodes(ids: $ids) { ... on Tariff { id owner { id } } }
             tenant(id: $t) { tenantTariff { id owner { id } } } }""",
        {"ids": [spare, sibling, own_of_sibling], "t": gid("Tenant", w.a1.id)},
        token=w.a1_admin.token,
    )
    assert data == {
        "nodes": [None, None, None],
        "tenant": {"tenantTariff": {"id": paid, "owner": None}},
    }


@check
async def reports_versions_and_logs(gql: GraphQLClient, db: Database, w: World) -> None:
    """a1 reads its sub-tenant's reports, tariff versions and audit log, not its cousin's."""
    root = w.root_admin.token
    made = {}
    for tenant in (w.a1x, w.b1):
        tariff = await create_tariff(gql, root, tenant.id, [{"kind": "DATA", "unitPrice": "1"}])
        report = await gql.data(
            'mutation($t: ID!) { requestUsageReport(input: {tenantId: $t, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z"}) { report { id } } }',
            {"t": gid("Tenant", tenant.id)},
            token=root,
        )
        versions = await gql.data(
            "query($t: ID!) { node(id: $t) { ... on Tariff { versions { edges { node { id } } } } } }",
            {"t": tariff},
            token=root,
        )
        made[tenant.moniker] = {
            "report": report["requestUsageReport"]["report"]["id"],
            "tariff": tariff,
            "version": versions["node"]["versions"]["edges"][0]["node"]["id"],
            "tenant": gid("Tenant", tenant.id),
        }
    q = """query($report: ID!, $tariff: ID!, $version: ID!, $tenant: ID!) {
      report: node(id: $report) { id }
      version: node(id: $version) { id }
      tariff: node(id: $tariff) { ... on Tariff { versions { totalCount edges { node { id } } } } }
      tenant(id: $tenant) { reports { totalCount } auditEvents { totalCount } } }"""
    cousin = await gql.data(q, made["b1"], token=w.a1_admin.token)
    assert cousin == {"report": None, "version": None, "tariff": None, "tenant": None}
    own = made["a1x"]
    mine = await gql.data(q, own, token=w.a1_admin.token)
    assert mine["report"] == {"id": own["report"]}
    assert mine["version"] == {"id": own["version"]}
    assert mine["tariff"]["versions"]["edges"] == [{"node": {"id": own["version"]}}]
    assert mine["tenant"]["reports"] == {"totalCount": 1}
    assert mine["tenant"]["auditEvents"]["totalCount"] > 0


@pytest.mark.parametrize("run", CHECKS, ids=[c.__name__ for c in CHECKS])
async def test_isolation(run: Check, gql: GraphQLClient, db: Database, world: World) -> None:
    await run(gql, db, world)


@pytest.mark.parametrize("run", CHECKS, ids=[c.__name__ for c in CHECKS])
async def test_checks_fail_without_scope(
    run: Check, gql: GraphQLClient, db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Scope, "tenants", lambda self: sa.true())
    monkeypatch.setattr(Scope, "owned_by_visible_tenant", lambda self, column: sa.true())
    monkeypatch.setattr(Scope, "is_strict_ancestor_of", lambda self, tenant: True)
    with pytest.raises(AssertionError):
        await run(gql, db, world)


async def test_root_admin_sees_every_tenant(gql: GraphQLClient, world: World) -> None:
    data = await gql.data("{ tenants(first: 50) { totalCount } }", token=world.root_admin.token)
    assert data["tenants"]["totalCount"] == 7


COMPILED_CHECKS = [
    tenant_by_id,
    tenant_by_moniker,
    node_and_nodes,
    tenants_list,
    parent_only_when_visible,
    reports_versions_and_logs,
]


@pytest.mark.parametrize("run", COMPILED_CHECKS, ids=[c.__name__ for c in COMPILED_CHECKS])
async def test_read_checks_run_compiled(
    run: Check, gql: GraphQLClient, db: Database, world: World, settings: Settings
) -> None:
    """On the compiled path these checks are answered by compiled SQL, not by a fallback."""
    before = READS_BY_PATH.copy()
    await run(gql, db, world)
    took = READS_BY_PATH - before
    assert set(took) == ({"compiled"} if settings.compiled_reads else {"resolver"})

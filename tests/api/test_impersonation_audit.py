"""Impersonation (short-lived, reasoned, read-only by default) and the audit log."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tenantry.auth.models import Impersonation
from tenantry.db.engine import Database
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, codes, record
from tests.fixtures.partners import PartnerWorld, mutate
from tests.fixtures.world import World
from tests.ids import gid

START = """mutation($i: StartImpersonationInput!) { startImpersonation(input: $i) {
  token impersonation { id reason readOnly expiresAt endedAt actor { email } tenant { moniker } }
  userErrors { field code message } } }"""
END = "mutation($id: ID!) { endImpersonation(input: {id: $id}) { impersonation { endedAt } userErrors { field code } } }"
VIEWER = "{ viewer { role tenant { moniker } impersonation { reason readOnly actor { email } } } }"
RENAME = 'mutation($id: ID!) { updateTenant(input: {id: $id, name: "Renamed"}) { tenant { name } userErrors { field code } } }'
LOG = """query($id: ID!) { tenant(id: $id) { auditEvents { totalCount edges { node {
  action targetId details actor { email } impersonatedTenant { moniker } } } } } }"""


async def start(gql: GraphQLClient, token: str, tenant_id: str, **extra: Any) -> dict[str, Any]:
    return await mutate(
        gql, token, START, i={"tenantId": tenant_id, "reason": "Ticket 4711", **extra}
    )


async def test_read_only_impersonation_acts_as_the_tenant_and_changes_nothing(
    gql: GraphQLClient, world: World
) -> None:
    started = await start(gql, world.root_admin.token, gid("Tenant", world.a1.id))
    assert started["userErrors"] == []
    assert started["impersonation"]["readOnly"] is True
    assert started["impersonation"]["tenant"] == {"moniker": "a1"}
    token = started["token"]
    assert token.startswith("tni_")
    viewer = await gql.data(VIEWER, token=token)
    assert viewer["viewer"] == {
        "role": "ADMIN",
        "tenant": {"moniker": "a1"},
        "impersonation": {
            "reason": "Ticket 4711",
            "readOnly": True,
            "actor": {"email": world.root_admin.user.email},
        },
    }
    refused = await mutate(gql, token, RENAME, id=gid("Tenant", world.a1x.id))
    assert codes(refused) == [("", "READ_ONLY")]
    # Scope is the impersonated tenant's: its parent is out of sight.
    assert (
        await gql.data(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": gid("Tenant", world.a.id)},
            token=token,
        )
    )["node"] is None
    # Ending it (allowed while read-only) kills the token at once.
    ended = await mutate(gql, token, END, id=started["impersonation"]["id"])
    assert ended["userErrors"] == [] and ended["impersonation"]["endedAt"] is not None
    body = await gql.execute(VIEWER, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_who_may_impersonate_and_for_how_long(gql: GraphQLClient, world: World) -> None:
    a1 = world.a1_admin.token
    assert codes(await start(gql, a1, gid("Tenant", world.a1.id))) == [
        ("input.tenantId", "FORBIDDEN")
    ]
    assert codes(await start(gql, a1, gid("Tenant", world.a2.id))) == [
        ("input.tenantId", "NOT_FOUND")
    ]
    assert codes(await start(gql, world.a1_viewer.token, gid("Tenant", world.a1x.id))) == [
        ("", "FORBIDDEN")
    ]
    bad = await start(gql, a1, gid("Tenant", world.a1x.id), reason=" ", minutes=61)
    assert sorted(codes(bad)) == [("input.minutes", "INVALID"), ("input.reason", "INVALID")]
    inside = (await start(gql, world.root_admin.token, gid("Tenant", world.a.id), readOnly=False))[
        "token"
    ]
    nested = await start(gql, inside, gid("Tenant", world.a1.id))
    assert codes(nested) == [("", "FORBIDDEN")]


async def test_expired_impersonation_stops_working(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    started = await start(gql, world.a1_admin.token, gid("Tenant", world.a1x.id), minutes=1)
    assert (await gql.data(VIEWER, token=started["token"]))["viewer"]["tenant"] == {
        "moniker": "a1x"
    }
    async with db.write() as session:
        await session.execute(
            sa.update(Impersonation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    body = await gql.execute(VIEWER, token=started["token"])
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_managed_tenants_need_partner_access(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    refused = await start(gql, partners.partner_admin.token, partners.managed_id)
    assert codes(refused) == [("input.tenantId", "FORBIDDEN")]
    await mutate(
        gql,
        partners.managed_admin.token,
        "mutation($id: ID!) { updateTenant(input: {id: $id, partnerAccess: true}) { userErrors { code } } }",
        id=partners.managed_id,
    )
    assert (await start(gql, partners.partner_admin.token, partners.managed_id))["userErrors"] == []


async def test_changes_are_logged_with_the_real_actor_and_the_impersonated_tenant(
    gql: GraphQLClient, world: World
) -> None:
    started = await start(gql, world.root_admin.token, gid("Tenant", world.a1.id), readOnly=False)
    renamed = await mutate(gql, started["token"], RENAME, id=gid("Tenant", world.a1x.id))
    assert renamed["userErrors"] == []
    await mutate(gql, started["token"], END, id=started["impersonation"]["id"])
    # A refused change writes nothing.
    assert codes(
        await mutate(gql, world.a1_viewer.token, RENAME, id=gid("Tenant", world.a1x.id))
    ) == [("", "FORBIDDEN")]

    log = (await gql.data(LOG, {"id": gid("Tenant", world.a1x.id)}, token=world.root_admin.token))[
        "tenant"
    ]["auditEvents"]
    assert log["totalCount"] == 1
    event = log["edges"][0]["node"]
    assert event["action"] == "updateTenant"
    assert event["targetId"] == gid("Tenant", world.a1x.id)
    assert event["actor"] == {"email": world.root_admin.user.email}
    assert event["impersonatedTenant"] == {"moniker": "a1"}
    assert json.loads(event["details"]) == {"id": gid("Tenant", world.a1x.id), "name": "Renamed"}
    # a1's log shows the impersonation starting and ending (newest first).
    a1_log = (await gql.data(LOG, {"id": gid("Tenant", world.a1.id)}, token=world.a1_admin.token))[
        "tenant"
    ]["auditEvents"]
    assert [e["node"]["action"] for e in a1_log["edges"]] == [
        "endImpersonation",
        "startImpersonation",
    ]
    # The actor is above a1: a1's admins see what was done, not who the platform's user is.
    assert a1_log["edges"][0]["node"]["actor"] is None


async def test_the_log_is_for_admins_of_the_tenant_and_above(
    gql: GraphQLClient, world: World
) -> None:
    await mutate(gql, world.a1_admin.token, RENAME, id=gid("Tenant", world.a1x.id))
    variables = {"id": gid("Tenant", world.a1x.id)}
    assert (await gql.data(LOG, variables, token=world.a1_admin.token))["tenant"]["auditEvents"][
        "totalCount"
    ] == 1
    assert (await gql.data(LOG, variables, token=world.root_admin.token))["tenant"]["auditEvents"][
        "totalCount"
    ] == 1
    assert (await gql.data(LOG, variables, token=world.a1_viewer.token))["tenant"]["auditEvents"][
        "totalCount"
    ] == 0
    assert (await gql.data(LOG, variables, token=world.a2_admin.token))["tenant"] is None


async def test_partner_creating_a_user_shows_in_the_managed_tenants_log(
    gql: GraphQLClient, partners: PartnerWorld
) -> None:
    log = (await gql.data(LOG, {"id": partners.managed_id}, token=partners.managed_admin.token))[
        "tenant"
    ]["auditEvents"]
    actions = [e["node"]["action"] for e in log["edges"]]
    assert "createUser" in actions and "createManagedTenant" in actions


async def test_ledger_records_the_impersonated_tenant(gql: GraphQLClient, world: World) -> None:
    account = (
        await gql.data(
            "query($id: ID!) { tenant(id: $id) { account { id } } }",
            {"id": gid("Tenant", world.a1x.id)},
            token=world.root_admin.token,
        )
    )["tenant"]["account"]["id"]
    token = (await start(gql, world.root_admin.token, gid("Tenant", world.a1.id), readOnly=False))[
        "token"
    ]
    paid = await mutate(
        gql,
        token,
        'mutation($a: ID!) { topUpAccount(input: {accountId: $a, amount: "5", idempotencyKey: "k"}) { transaction { impersonatedTenant { moniker } actor { email } } userErrors { code } } }',
        a=account,
    )
    assert paid["userErrors"] == []
    assert paid["transaction"]["impersonatedTenant"] == {"moniker": "a1"}


async def test_an_impersonation_that_runs_out_is_ended_and_logged(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    from tenantry.auth.tasks import end_expired_impersonations

    started = await start(gql, world.root_admin.token, gid("Tenant", world.a1.id))
    assert await end_expired_impersonations(db) == 0
    async with db.write() as session:
        await session.execute(
            sa.update(Impersonation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await end_expired_impersonations(db) == 1
    assert await end_expired_impersonations(db) == 0
    log = (await gql.data(LOG, {"id": gid("Tenant", world.a1.id)}, token=world.a1_admin.token))[
        "tenant"
    ]["auditEvents"]
    assert [e["node"]["action"] for e in log["edges"]] == [
        "impersonationExpired",
        "startImpersonation",
    ]
    assert log["edges"][0]["node"]["targetId"] == started["impersonation"]["id"]


async def test_large_inputs_are_not_copied_into_the_log(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    from tenantry.audit.models import AuditEvent

    batch = [record(priced.endpoint_id, f"e{i}", "1") for i in range(200)]
    data = await gql.data(RECORD, {"r": batch}, token=world.root_admin.token)
    assert data["recordUsage"]["accepted"] == 200
    async with db.read() as session:
        details = await session.scalar(
            sa.select(AuditEvent.details).where(AuditEvent.action == "recordUsage")
        )
    assert details is not None
    kept = json.loads(details)
    assert kept["omitted"] == "input too large to keep" and kept["bytes"] > 4096


REVOKE = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }"


async def test_an_impersonation_dies_with_the_token_that_started_it(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    started = await start(gql, world.a1_admin.token, gid("Tenant", world.a1x.id), readOnly=False)
    token = started["token"]
    assert (await gql.data(VIEWER, token=token))["viewer"]["tenant"] == {"moniker": "a1x"}
    revoked = await mutate(
        gql, world.root_admin.token, REVOKE, id=gid("ApiToken", world.a1_admin.token_id)
    )
    assert revoked["userErrors"] == []
    # Neither reads nor writes go through any more.
    for query in (VIEWER, RENAME):
        body = await gql.execute(query, {"id": gid("Tenant", world.a1x.id)}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with db.read() as session:
        assert await session.scalar(sa.select(Impersonation.ended_at)) is not None
    log = (await gql.data(LOG, {"id": gid("Tenant", world.a1x.id)}, token=world.root_admin.token))[
        "tenant"
    ]["auditEvents"]
    assert [e["node"]["action"] for e in log["edges"]] == [
        "impersonationRevoked",
        "startImpersonation",
    ]


async def test_an_impersonation_dies_when_its_source_token_expires(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    from tenantry.auth.models import ApiToken

    token = (await start(gql, world.a1_admin.token, gid("Tenant", world.a1x.id)))["token"]
    assert (await gql.data(VIEWER, token=token))["viewer"]["tenant"] == {"moniker": "a1x"}
    async with db.write() as session:
        await session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == world.a1_admin.token_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    body = await gql.execute(VIEWER, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_impersonation_token_can_end_only_its_own_impersonation(
    gql: GraphQLClient, world: World
) -> None:
    read_only = await start(gql, world.root_admin.token, gid("Tenant", world.a1.id))
    writable = await start(gql, world.root_admin.token, gid("Tenant", world.b1.id), readOnly=False)
    read_only_id, writable_id = read_only["impersonation"]["id"], writable["impersonation"]["id"]
    # Same person behind both, but a token acts as its tenant, not as that person.
    assert codes(await mutate(gql, read_only["token"], END, id=writable_id)) == [("", "READ_ONLY")]
    assert codes(await mutate(gql, writable["token"], END, id=read_only_id)) == [("", "FORBIDDEN")]
    for started in (read_only, writable):
        assert (await gql.data(VIEWER, token=started["token"]))["viewer"][
            "impersonation"
        ] is not None
    # Each ends itself; the person's own API token ends any of theirs.
    assert (await mutate(gql, read_only["token"], END, id=read_only_id))["userErrors"] == []
    assert (await mutate(gql, world.root_admin.token, END, id=writable_id))["userErrors"] == []

"""Signed top-up links through the API: who may rotate a tenant's top-up secret (shown once,
never read back), which templates are accepted, and links checked by hand and by the
README's verification snippet (a tampered link, an expired one and another secret fail)."""

import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import procrastinate
import sqlalchemy as sa

import tenantry
from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.customers.topup import sign
from tenantry.db.engine import Database
from tenantry.settings import Settings
from tenantry.tenants.models import Tenant
from tests.fixtures.graphql import GraphQLClient, client_of
from tests.fixtures.money import create_customer, set_tenant
from tests.fixtures.world import World
from tests.ids import gid

ROTATE = """mutation($t: ID!) { rotateTopUpSecret(input: {tenantId: $t}) {
  secret userErrors { field code message } } }"""
TOP_UP_URL = "query($id: ID!) { node(id: $id) { ... on Customer { topUpUrl } } }"
SIGNED = "https://pay.example.com/topup?c={customer_id}&n={customer_name}&amount={balance}&cur={currency}&exp={expires}&sig={signature}"
README = Path(tenantry.__file__).resolve().parents[2] / "README.md"


async def rotate(gql: GraphQLClient, token: str, tenant: Tenant) -> dict[str, Any]:
    data = await gql.data(ROTATE, {"t": gid("Tenant", tenant.id)}, token=token)
    payload: dict[str, Any] = data["rotateTopUpSecret"]
    return payload


def codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(e["field"] or []), e["code"]) for e in payload["userErrors"]]


async def top_up_url(gql: GraphQLClient, token: str, customer_id: str) -> str:
    url: str = (await gql.data(TOP_UP_URL, {"id": customer_id}, token=token))["node"]["topUpUrl"]
    return url


def readme_verifier() -> Any:
    """The README's verification snippet, run as a payment page would run it."""
    section = README.read_text().split("\n## Signed top-up links\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["verify_top_up_link"]


def test_signatures_are_hmac_sha256_hex() -> None:
    # The published HMAC-SHA256 test value (key "key").
    assert (
        sign("The quick brown fox jumps over the lazy dog", "key")
        == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


async def test_who_may_rotate_and_the_secret_is_shown_once(
    gql: GraphQLClient, db: Database, world: World
) -> None:
    first = await rotate(gql, world.a1_admin.token, world.a1)
    assert first["userErrors"] == []
    assert re.fullmatch(r"[0-9a-f]{64}", first["secret"])
    # An ancestor's admin may too; each rotation is a new secret.
    second = await rotate(gql, world.root_admin.token, world.a1)
    assert second["userErrors"] == [] and second["secret"] != first["secret"]
    assert codes(await rotate(gql, world.a1_viewer.token, world.a1)) == [("", "FORBIDDEN")]
    for actor, tenant in ((world.b1_admin, world.a1), (world.a1_admin, world.a)):
        payload = await rotate(gql, actor.token, tenant)
        assert payload == {
            "secret": None,
            "userErrors": [
                {"field": ["input", "tenantId"], "code": "NOT_FOUND", "message": "No such tenant."}
            ],
        }
    # Never read back: not in any answer about the tenant, nor in the audit log.
    everything = await gql.execute(
        """query($id: ID!) { tenant(id: $id) { customerTopUpUrl settingSources { name value }
             auditEvents { edges { node { action details } } } } }""",
        {"id": gid("Tenant", world.a1.id)},
        token=world.root_admin.token,
    )
    events = everything["data"]["tenant"]["auditEvents"]["edges"]
    assert [e["node"]["action"] for e in events].count("rotateTopUpSecret") == 2
    assert second["secret"] not in str(everything) and first["secret"] not in str(everything)
    async with db.read() as session:
        details = (await session.scalars(sa.select(AuditEvent.details))).all()
    assert not [d for d in details if d and second["secret"] in d]


async def test_signed_templates_need_a_secret_and_the_signature_last(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    payload = await set_tenant(gql, root, world.a1.id, customerTopUpUrl=SIGNED)
    assert codes(payload) == [("input.customerTopUpUrl", "INVALID")]
    assert "rotateTopUpSecret" in payload["userErrors"][0]["message"]
    await rotate(gql, root, world.a1)
    for misplaced in (
        "https://pay.example.com/topup?sig={signature}&c={customer_id}",
        "https://pay.example.com/{signature}?c={customer_id}",
        "https://pay.example.com/topup?sig={signature}&again={signature}",
        "https://pay.example.com/topup?c={customer_id}&sig={signature}#top",
    ):
        payload = await set_tenant(gql, root, world.a1.id, customerTopUpUrl=misplaced)
        assert codes(payload) == [("input.customerTopUpUrl", "INVALID")], misplaced
    assert (await set_tenant(gql, root, world.a1.id, customerTopUpUrl=SIGNED))["userErrors"] == []
    # A new tenant has no secret yet: it cannot start with a signed template.
    created = await gql.data(
        """mutation($i: CreateSubTenantInput!) { createSubTenant(input: $i) {
             userErrors { field code } } }""",
        {
            "i": {
                "parentId": gid("Tenant", world.a1.id),
                "name": "New",
                "moniker": "new",
                "subscriptionTypes": ["INTEGRATED"],
                "customerTopUpUrl": SIGNED,
            }
        },
        token=root,
    )
    assert created["createSubTenant"]["userErrors"] == [
        {"field": ["input", "customerTopUpUrl"], "code": "INVALID"}
    ]


async def test_links_are_signed_with_the_template_owners_secret_and_expire(
    gql: GraphQLClient, world: World
) -> None:
    root = world.root_admin.token
    secret = (await rotate(gql, root, world.a1))["secret"]
    below = (await rotate(gql, root, world.a1x))["secret"]
    assert (await set_tenant(gql, root, world.a1.id, customerTopUpUrl=SIGNED))["userErrors"] == []
    customer = (await create_customer(gql, root, world.a1x.id, name="A&B / C"))["customer"]
    before = int(time.time())
    url = await top_up_url(gql, world.a1_admin.token, customer["id"])
    after = int(time.time())

    expires = int(re.search(r"&exp=(\d+)&", url).group(1))  # type: ignore[union-attr]
    assert before + 86400 <= expires <= after + 86400
    # By hand: every value URL-encoded, signed up to the "&" before "sig=", with the secret of
    # a1 (whose template a1x's customer uses), not a1x's own.
    unsigned = (
        f"https://pay.example.com/topup?c={quote(customer['id'], safe='')}"
        f"&n=A%26B%20%2F%20C&amount=0.00&cur=EUR&exp={expires}"
    )
    digest = hmac.new(secret.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
    assert url == f"{unsigned}&sig={digest}"

    verify = readme_verifier()
    assert verify(url, secret)
    assert not verify(url, below)
    assert not verify(url.replace("amount=0.00", "amount=100.00"), secret)
    assert not verify(url.replace(f"exp={expires}", f"exp={expires + 3600}"), secret)
    assert not verify(url, secret, now=expires)
    assert verify(url, secret, now=expires - 1)
    # Rotating again: links made from now on verify with the new secret only.
    newer = (await rotate(gql, root, world.a1))["secret"]
    fresh = await top_up_url(gql, root, customer["id"])
    assert verify(fresh, newer) and not verify(fresh, secret)


async def test_the_link_lifetime_is_a_setting(
    db: Database, database_url: str, jobs: procrastinate.App, world: World
) -> None:
    settings = Settings(database_url=database_url, top_up_link_ttl_seconds=60)
    async with client_of(create_app(settings, db=db, jobs=jobs)) as gql:
        root = world.root_admin.token
        template = "https://pay.example.com/topup?c={customer_id}&exp={expires}"
        assert (await set_tenant(gql, root, world.a1.id, customerTopUpUrl=template))[
            "userErrors"
        ] == []
        customer = (await create_customer(gql, root, world.a1.id))["customer"]
        before = int(time.time())
        url = await top_up_url(gql, root, customer["id"])
        expires = int(url.rsplit("exp=", 1)[1])
        assert before + 60 <= expires <= int(time.time()) + 60

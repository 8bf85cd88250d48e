"""Endpoint fee helpers: trees priced by monthly fees, endpoints created when a test says,
and the check that every fee test leaves the books balanced."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tenantry.customers.models import Endpoint
from tenantry.db.engine import Database
from tenantry.ledger.service import check_invariants
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import Actor, create_platform, create_tenant
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    create_customer,
    create_endpoint,
    create_operator,
    create_tariff,
    set_tenant,
)
from tests.ids import gid, pk_of

CHARGE = """mutation($s: DateTime!, $e: DateTime!) {
  chargeEndpointFees(input: {periodStart: $s, periodEnd: $e}) {
    run { id periodStart periodEnd endpointCount charged { amount currency } }
    userErrors { field code message } } }"""
NOVEMBER = ("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00")


@pytest.fixture(autouse=True)
async def ledger_stays_balanced(db: Database) -> AsyncIterator[None]:
    yield
    async with db.read() as session:
        assert await check_invariants(session) == []


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Fees:
    """A platform and helpers to price a tree by monthly fees, through the API."""

    db: Database
    gql: GraphQLClient
    root: Tenant
    admin: Actor
    operator: str = ""

    @property
    def token(self) -> str:
        return self.admin.token

    async def tenant(
        self, parent: Tenant, currency: str | None = None, fee: str | None = None
    ) -> Tenant:
        """A sub-tenant that pays its parent ``fee`` per endpoint and month (None: free)."""
        tenant = await create_tenant(self.db, self.root, self.admin, parent, currency=currency)
        if fee is not None:
            tariff = await self.tariff(parent, fee)
            assert (await set_tenant(self.gql, self.token, tenant.id, tenantTariffId=tariff))[
                "userErrors"
            ] == []
        await self.gql.data(
            """mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t,
                 sponsorOperatorIds: [$o]}) { userErrors { code } } }""",
            {"t": gid("Tenant", tenant.id), "o": self.operator},
            token=self.token,
        )
        return tenant

    async def tariff(self, owner: Tenant, fee: str | None) -> str:
        extra = {} if fee is None else {"monthlyFeePerEndpoint": fee}
        return await create_tariff(self.gql, self.token, owner.id, [], **extra)

    async def customer(
        self, tenant: Tenant, fee: str | None = None, *, priced: bool = True
    ) -> dict[str, Any]:
        """A customer paying ``fee`` per endpoint and month (no tariff when not ``priced``)."""
        extra = {"tariffId": await self.tariff(tenant, fee)} if priced else {}
        payload = await create_customer(self.gql, self.token, tenant.id, **extra)
        assert payload["userErrors"] == []
        customer: dict[str, Any] = payload["customer"]
        return customer

    async def endpoint(self, customer: dict[str, Any], created_at: str | None = None) -> str:
        """An endpoint, as if created at ``created_at`` (UTC; None: now)."""
        payload = await create_endpoint(self.gql, self.token, customer["id"], self.operator)
        assert payload["userErrors"] == []
        endpoint_id: str = payload["endpoint"]["id"]
        if created_at is not None:
            async with self.db.write() as session:
                await session.execute(
                    sa.update(Endpoint)
                    .where(Endpoint.id == pk_of(endpoint_id))
                    .values(created_at=at(created_at))
                )
        return endpoint_id

    async def charge(self, start: str, end: str, token: str | None = None) -> dict[str, Any]:
        data = await self.gql.data(CHARGE, {"s": start, "e": end}, token=token or self.token)
        payload: dict[str, Any] = data["chargeEndpointFees"]
        return payload

    async def balances(self, **owners: Tenant | dict[str, Any]) -> dict[str, str]:
        """Balance amounts by name: tenants' accounts, and customers' (as created)."""
        ids = {
            name: gid("Tenant", owner.id) if isinstance(owner, Tenant) else owner["account"]["id"]
            for name, owner in owners.items()
        }
        q = """query($ids: [ID!]!) { nodes(ids: $ids) {
                 ... on Tenant { account { balance { amount } } }
                 ... on Account { balance { amount } } } }"""
        data = await self.gql.data(q, {"ids": list(ids.values())}, token=self.token)
        return {
            name: (node.get("account") or node)["balance"]["amount"]
            for name, node in zip(ids, data["nodes"], strict=True)
        }


@pytest.fixture
async def fees(db: Database, gql: GraphQLClient) -> Fees:
    root, admin = await create_platform(db)
    platform = Fees(db, gql, root, admin)
    platform.operator = await create_operator(gql, admin.token, "Op")
    return platform

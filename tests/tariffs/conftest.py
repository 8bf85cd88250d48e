"""Helpers for tariff versions: revising through the API, and the tariffs of ``priced``
(tests/fixtures/money.py: the customer pays a1 0.05/MB, a1 pays a 0.02/MB, a pays the
platform 0.01/MB; SMS 0.0004 at every level)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import Priced
from tests.fixtures.world import World
from tests.ids import gid

REVISE = """mutation($i: ReviseTariffInput!) { reviseTariff(input: $i) {
  tariff { id rates { kind unitPrice increment minimum } monthlyFeePerEndpoint { amount currency }
    versions(first: 10) { totalCount edges { node { id effectiveFrom effectiveTo
      rates { kind unitPrice increment minimum } monthlyFeePerEndpoint { amount currency }
      actor { id } } } } }
  userErrors { field code message } } }"""


@dataclass(frozen=True)
class Tariffs:
    customer: str  # owned by a1, paid by the customer
    a1_pays: str  # owned by a, a1's tenant tariff


@pytest.fixture
async def tariffs(gql: GraphQLClient, world: World, priced: Priced) -> Tariffs:
    data = await gql.data(
        """query($c: ID!, $a1: ID!) { c: node(id: $c) { ... on Customer { tariff { id } } }
             a1: node(id: $a1) { ... on Tenant { tenantTariff { id } } } }""",
        {"c": priced.customer_id, "a1": gid("Tenant", world.a1.id)},
        token=world.root_admin.token,
    )
    return Tariffs(data["c"]["tariff"]["id"], data["a1"]["tenantTariff"]["id"])


def iso(at: datetime) -> str:
    return at.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def later(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


def data_rate(price: str) -> list[dict[str, str]]:
    return [
        {"kind": "DATA", "unitPrice": price, "increment": "1", "minimum": "0"},
        {"kind": "SMS", "unitPrice": "0.0004", "increment": "1", "minimum": "0"},
    ]


async def revise(
    gql: GraphQLClient,
    token: str,
    tariff: str,
    at: datetime,
    rates: list[dict[str, str]],
    **extra: Any,
) -> dict[str, Any]:
    data = await gql.data(
        REVISE,
        {"i": {"tariffId": tariff, "rates": rates, "effectiveFrom": iso(at), **extra}},
        token=token,
    )
    payload: dict[str, Any] = data["reviseTariff"]
    return payload

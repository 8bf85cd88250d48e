"""Ingestion rates in SQL what ``rating.charge`` prices in Python, at every level, by the
tariff version in force when each record occurred."""

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from tenantry.db.engine import Database
from tenantry.tariffs import repository as tariffs_repo
from tenantry.usage.cascade import Cascade
from tenantry.usage.models import UsageRecord
from tenantry.usage.rating import charge
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, record
from tests.fixtures.world import World
from tests.ids import pk_of
from tests.tariffs.conftest import Tariffs, iso, now, revise, tariffs  # noqa: F401

ODD = [
    {"kind": "DATA", "unitPrice": "0.013", "increment": "0.5", "minimum": "1"},
    {"kind": "SMS", "unitPrice": "0.0007", "increment": "1", "minimum": "0"},
    {"kind": "VOICE", "unitPrice": "0.031", "increment": "6", "minimum": "30"},
]
WHOLE_MINUTES = [
    {"kind": "DATA", "unitPrice": "0.021", "increment": "0.001", "minimum": "0"},
    {"kind": "VOICE", "unitPrice": "0.07", "increment": "60", "minimum": "60"},
]


async def test_every_level_is_charged_as_rating_charge_prices_it_by_the_version_in_force(
    gql: GraphQLClient,
    db: Database,
    world: World,
    priced: Priced,
    tariffs: Tariffs,  # noqa: F811
) -> None:
    start = now()
    # The customer's tariff is a1's; a1's tenant tariff is a's (revised by a platform admin).
    revisions = [
        (world.a1_admin, tariffs.customer, start + timedelta(minutes=20), ODD),
        (world.root_admin, tariffs.a1_pays, start + timedelta(minutes=30), WHOLE_MINUTES),
        (world.a1_admin, tariffs.customer, start + timedelta(minutes=40), WHOLE_MINUTES),
    ]
    for admin, tariff, at, rates in revisions:
        assert (await revise(gql, admin.token, tariff, at, rates))["userErrors"] == []
    rng = random.Random(11)
    records = []
    for i in range(300):
        quantity = Decimal(rng.choice([0, 1, 7, 59, 61, 999_999, rng.randint(0, 10**9)]))
        at = start + timedelta(seconds=rng.randint(-2 * 86_400, 50 * 60))
        kind = rng.choice(["DATA", "SMS", "VOICE"])
        records.append(record(priced.endpoint_id, f"r{i}", f"{quantity / 10**6:f}", kind, iso(at)))
    data = await gql.data(RECORD, {"r": records}, token=world.root_admin.token)
    assert data["recordUsage"] == {"accepted": 300, "duplicates": 0, "userErrors": []}

    endpoint_id = pk_of(priced.endpoint_id)
    async with db.read() as session:
        stored = (
            await session.execute(
                sa.select(
                    UsageRecord.kind,
                    UsageRecord.quantity,
                    UsageRecord.occurred_at,
                    UsageRecord.charges,
                ).where(UsageRecord.endpoint_id == endpoint_id)
            )
        ).all()
        levels = (await Cascade.load(session, [endpoint_id])).levels(endpoint_id)
        rates = await tariffs_repo.rates_in_force(
            session,
            [(level.tariff_id, at) for *_, at, _ in stored for level in levels if level.tariff_id],
        )
    assert len(stored) == 300 and len(levels) == 3
    versions_seen = set()
    for kind, quantity, at, charges in stored:
        expected = []
        for level in levels:
            rate = rates.get((level.tariff_id, at), {}).get(kind) if level.tariff_id else None
            versions_seen.add((level.tariff_id, rate and rate.version_id))
            expected.append(charge(quantity, rate))
        assert charges == expected, (kind, quantity, at)
    assert len(versions_seen) >= 5  # both tariffs' old and new versions were rated by

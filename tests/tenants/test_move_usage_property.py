"""A move changes no one's usage figures for usage rated before it (hypothesis, on random
trees, random usage and random chains of moves, against the real PostgreSQL).

History stays where it was rated (DESIGN.md, "Moving a sub-tree"): the moved tenants, their
customers and endpoints, their old ancestors and the common ones keep every figure; the new
ancestors get none of it. So every tenant's totals (with and without its sub-tree), its
per-endpoint rows (the reads' and the reports' SQL), and every customer's totals are the same
after any number of moves as before them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tenantry.auth.principal import Principal
from tenantry.core.pagination import PageRequest
from tenantry.customers import service as customers
from tenantry.customers.models import Customer
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import move, service
from tenantry.tenants.models import SubscriptionType, Tenant
from tenantry.tenants.service import NewSubTenant
from tenantry.usage import repository as usage_repo
from tenantry.usage import service as usage
from tenantry.usage.repository import UsageOwner, Window
from tenantry.usage.service import NewUsageRecord
from tests.fixtures.database import TABLES
from tests.fixtures.factories import create_platform, platform_principal

WINDOW = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
prices = st.none() | st.sampled_from([Decimal("0.01"), Decimal("0.02"), Decimal("0.035")])


@dataclass(frozen=True)
class Spec:
    parents: list[int]  # tenant i's parent: 0 is the root, j > 0 the (j-1)-th tenant
    tenant_prices: list[Decimal | None]
    customer_prices: list[Decimal]
    quantities: list[list[Decimal]]


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(2, 6))
    return Spec(
        parents=[draw(st.integers(0, i)) for i in range(n)],
        tenant_prices=[draw(prices) for _ in range(n)],
        customer_prices=[
            draw(st.sampled_from([Decimal("0.05"), Decimal("0.1")])) for _ in range(n)
        ],
        quantities=[
            draw(st.lists(st.decimals(0, 50, places=1), min_size=1, max_size=2)) for _ in range(n)
        ],
    )


async def build(db: Database, spec: Spec) -> Principal:
    async with db.write() as session:
        await session.execute(sa.text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    root, admin = await create_platform(db)
    principal = platform_principal(root, admin)
    tenants = [root]
    async with db.write() as session:
        operator = await operators.create_operator(session, principal, "Op")
        records = []
        for i, parent_index in enumerate(spec.parents):
            parent = tenants[parent_index]
            price = spec.tenant_prices[i]
            paid = None
            if price is not None:
                rates = [NewRate(UsageKind.DATA, price)]
                paid = (
                    await tariffs.create_tariff(
                        session, principal, NewTariff(parent.id, "T", rates)
                    )
                ).id
            tenant = await service.create_sub_tenant(
                session,
                principal,
                NewSubTenant(
                    parent.id,
                    f"T{i}",
                    f"t{i}",
                    [SubscriptionType.INTEGRATED],
                    inherit_sponsor_operators=True,
                    tenant_tariff_id=paid,
                ),
            )
            tenants.append(tenant)
            rates = [NewRate(UsageKind.DATA, spec.customer_prices[i])]
            own = await tariffs.create_tariff(session, principal, NewTariff(tenant.id, "C", rates))
            customer = await customers.create_customer(
                session, principal, NewCustomer(tenant.id, "C", SubscriptionType.INTEGRATED, own.id)
            )
            endpoint = await customers.create_endpoint(
                session,
                principal,
                NewEndpoint(customer.id, "E", f"89440000000000{i:05d}", operator.id),
            )
            records += [
                NewUsageRecord(
                    f"e{i}-{j}", endpoint.id, UsageKind.DATA, q, datetime(2026, 11, 15, tzinfo=UTC)
                )
                for j, q in enumerate(spec.quantities[i])
            ]
        await usage.record_usage(session, principal, records)
    return principal


async def figures(db: Database) -> dict[str, object]:
    """Every tenant's and customer's usage figures, as the API and the reports read them."""
    async with db.read() as session:
        tenants = (await session.scalars(sa.select(Tenant).order_by(Tenant.id))).all()
        customer_ids = (await session.scalars(sa.select(Customer.id))).all()
        result: dict[str, object] = {}
        for subtree in (True, False):
            owners = [UsageOwner("tenant", t.id, subtree, t.depth) for t in tenants]
            sums = await usage_repo.totals(session, owners, WINDOW)
            result[f"totals-{subtree}"] = {(o.id, k): s for (o, k), s in sums.items()}
            for owner in owners:
                page = await usage_repo.endpoint_rows(
                    session, move.EVERYONE, owner, WINDOW, PageRequest(first=100)
                )
                result[f"rows-{subtree}-{owner.id}"] = page.items
        owners = [UsageOwner("customer", c) for c in customer_ids]
        sums = await usage_repo.totals(session, owners, WINDOW)
        result["customers"] = {(o.id, k): s for (o, k), s in sums.items()}
    return result


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs(), data=st.data())
async def test_moves_change_no_figures_of_usage_rated_before_them(
    db: Database, spec: Spec, data: st.DataObject
) -> None:
    principal = await build(db, spec)
    before = await figures(db)
    assert before["totals-True"], "the tree has usage"
    for _ in range(data.draw(st.integers(1, 3))):
        async with db.read() as session:
            current = {t.id: t for t in (await session.scalars(sa.select(Tenant))).all()}
        movable = [t for t in current.values() if t.parent_id is not None]
        tenant = data.draw(st.sampled_from(movable))
        places = [
            p for p in current.values() if tenant.id not in p.path and p.id != tenant.parent_id
        ]
        if not places:
            continue
        new_parent = data.draw(st.sampled_from(places))
        async with db.write() as session:
            request = move.MoveRequest(tenant.id, new_parent.id, dry_run=False)
            await move.move_tenant(session, principal, request)
        assert await figures(db) == before

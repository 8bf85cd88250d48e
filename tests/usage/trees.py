"""Random priced trees for usage tests, built through the real services, and an oracle that
sums usage records in Python the way the rollups must."""

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType, Tenant
from tenantry.tenants.service import NewSubTenant
from tenantry.usage.models import UsageRecord, UsageRollup
from tenantry.usage.repository import Sums as UsageSums
from tenantry.usage.repository import Window
from tenantry.usage.rollups import usage_totals_select

_seq = itertools.count(1)

PRICES = [None, Decimal("0.01"), Decimal("0.013"), Decimal("0.5"), Decimal("0.000401")]


@dataclass(frozen=True)
class TreeShape:
    """Tenant i + 1's parent is ``parents[i]`` (0 is the root, k the k-th tenant made);
    ``prices[k]`` is tenant k's tenant tariff's price (k > 0) and, at index 0 and for its
    customers, the customer tariff price; None: that level is free."""

    parents: list[int]
    tenant_prices: list[Decimal | None]
    customer_prices: list[Decimal | None]


@st.composite
def tree_shapes(draw: st.DrawFn, max_tenants: int = 6) -> TreeShape:
    n = draw(st.integers(1, max_tenants))
    parents = [draw(st.integers(0, i)) for i in range(n)]
    prices = st.sampled_from(PRICES)
    return TreeShape(
        parents,
        [draw(prices) for _ in range(n)],
        [draw(prices) for _ in range(n + 1)],
    )


@dataclass(frozen=True)
class Tree:
    tenant_ids: list[int]  # the root first
    endpoint_ids: list[int]  # one endpoint per tenant, same order


def _rates(price: Decimal) -> list[NewRate]:
    return [
        NewRate(UsageKind.DATA, price, increment=Decimal(1)),
        NewRate(UsageKind.SMS, price),
        NewRate(UsageKind.VOICE, price, minimum=Decimal(60)),
    ]


async def build_tree(db: Database, actor: Principal, root: Tenant, shape: TreeShape) -> Tree:
    """The shape under ``root`` (a fresh sub-tree per call), each tenant with one customer
    and one endpoint."""
    n = next(_seq)
    async with db.write() as session:
        operator = await operators.create_operator(session, actor, f"Operator {n}")
        made = [root]
        for i, parent_index in enumerate(shape.parents):
            parent = made[parent_index]
            price = shape.tenant_prices[i]
            tariff = (
                None
                if price is None
                else await tariffs.create_tariff(
                    session, actor, NewTariff(parent.id, "Tenant tariff", _rates(price))
                )
            )
            made.append(
                await tenants.create_sub_tenant(
                    session,
                    actor,
                    NewSubTenant(
                        parent.id,
                        f"Tenant {n}-{i}",
                        f"t{n}-{i}",
                        [SubscriptionType.INTEGRATED],
                        inherit_sponsor_operators=True,
                        tenant_tariff_id=None if tariff is None else tariff.id,
                    ),
                )
            )
        endpoint_ids = []
        for k, tenant in enumerate(made):
            price = shape.customer_prices[k]
            tariff = (
                None
                if price is None
                else await tariffs.create_tariff(
                    session, actor, NewTariff(tenant.id, "Customers", _rates(price))
                )
            )
            customer = await customers.create_customer(
                session,
                actor,
                NewCustomer(
                    tenant.id,
                    "Customer",
                    SubscriptionType.INTEGRATED,
                    None if tariff is None else tariff.id,
                ),
            )
            endpoint = await customers.create_endpoint(
                session,
                actor,
                NewEndpoint(customer.id, "SIM", f"89{n:08d}{k:010d}", operator.id),
            )
            endpoint_ids.append(endpoint.id)
    return Tree([t.id for t in made], endpoint_ids)


Key = tuple[int, date, str]
Sums = tuple[int, Decimal, Decimal, Decimal, int, Decimal, Decimal, Decimal]


async def rollups_from_records(db: Database) -> dict[Key, Sums]:
    """The oracle: every record, summed in Python for each tenant on its tenant's path."""
    async with db.read() as session:
        rows = (
            await session.execute(
                sa.select(
                    UsageRecord.tenant_id,
                    Tenant.path,
                    UsageRecord.depth,
                    UsageRecord.charges,
                    UsageRecord.kind,
                    UsageRecord.quantity,
                    UsageRecord.occurred_at,
                ).join(Tenant, Tenant.id == UsageRecord.tenant_id)
            )
        ).all()
    sums: dict[Key, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 8)
    for tenant_id, path, depth, charges, kind, quantity, occurred_at in rows:
        day = occurred_at.astimezone(UTC).date()
        for position, ancestor in enumerate(path):
            level = depth - position
            cost = charges[level + 1] if level + 1 < len(charges) else Decimal(0)
            revenue = charges[level]
            row = sums[(ancestor, day, str(kind))]
            figures = [Decimal(1), quantity, cost, revenue]
            if ancestor == tenant_id:
                row[0:4] = [a + b for a, b in zip(row[0:4], figures, strict=True)]
            row[4:8] = [a + b for a, b in zip(row[4:8], figures, strict=True)]
    return {key: _sums(values) for key, values in sums.items()}


def _sums(values: list[Decimal]) -> Sums:
    return (
        int(values[0]),
        values[1],
        values[2],
        values[3],
        int(values[4]),
        values[5],
        values[6],
        values[7],
    )


async def stored_rollups(db: Database) -> dict[Key, Sums]:
    async with db.read() as session:
        rows = (await session.execute(sa.select(UsageRollup.__table__))).mappings().all()
    return {
        (row["tenant_id"], row["day"], str(row["kind"])): (
            row["own_records"],
            row["own_quantity"],
            row["own_cost"],
            row["own_revenue"],
            row["tree_records"],
            row["tree_quantity"],
            row["tree_cost"],
            row["tree_revenue"],
        )
        for row in rows
    }


MIDNIGHT = datetime(2026, 11, 1, tzinfo=UTC)


def at(day: int, microseconds: int) -> datetime:
    """An instant in November 2026: ``microseconds`` after the midnight (UTC) starting
    ``day`` (from 1)."""
    return MIDNIGHT + timedelta(days=day - 1, microseconds=microseconds)


HOUR = 3_600_000_000
DAY_US = 24 * HOUR
# Instants within a day, the edges first: midnight, just after, noon, just before the next.
edges = st.sampled_from([0, 1, 12 * HOUR, DAY_US - 1]) | st.integers(0, DAY_US - 1)
instants = st.builds(at, st.integers(1, 4), edges)


async def embedded_totals(
    session: AsyncSession, tenant_ids: list[int], window: Window, subtree: bool
) -> dict[int, dict[str, UsageSums]]:
    """The factory as a compiled read would embed it: correlated with an outer tenant, the
    window and the flag as bound parameters, under a json_agg."""
    usage = usage_totals_select(
        Tenant.id,
        sa.bindparam("since", window.since, type_=sa.DateTime(timezone=True)),
        sa.bindparam("until", window.until, type_=sa.DateTime(timezone=True)),
        sa.bindparam("subtree", subtree, type_=sa.Boolean),
    ).subquery("usage")
    totals = (
        sa.select(
            sa.func.json_agg(
                sa.func.json_build_array(usage.c.kind, *(sa.cast(c, sa.Text) for c in usage.c[1:])),
                type_=sa.JSON,
            )
        )
        .select_from(usage)
        .scalar_subquery()
    )
    rows = await session.execute(sa.select(Tenant.id, totals).where(Tenant.id.in_(tenant_ids)))
    return {
        tenant_id: {kind: UsageSums(Decimal(q), Decimal(c), Decimal(r)) for kind, q, c, r in found}
        for tenant_id, found in rows.all()
        if found
    }

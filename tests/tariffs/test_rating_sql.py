"""The SQL twin of ``rating.charge`` (what the tariff preview sums) prices every quantity
and rate exactly as ingestion does, in PostgreSQL."""

from decimal import Context, Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.db.engine import Database
from tenantry.tariffs.models import UNITS_PER_PRICE, TariffRate, UsageKind
from tenantry.usage import rating_sql
from tenantry.usage.rating import charge

# Six places, within limits.py's bounds (10^12), weighted towards small values.
amounts = st.one_of(
    st.decimals(min_value=0, max_value=1000, places=6),
    st.decimals(min_value=0, max_value=10**12, places=6),
    st.sampled_from([Decimal(0), Decimal(1), Decimal(60), Decimal("0.000001")]),
)
increments = amounts.filter(lambda d: d > 0)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(list(UsageKind)),
    quantity=amounts,
    price=st.decimals(min_value=0, max_value=10**12, places=6),
    increment=increments,
    minimum=amounts,
)
async def test_sql_charge_equals_the_ingestion_charge(
    db: Database,
    kind: UsageKind,
    quantity: Decimal,
    price: Decimal,
    increment: Decimal,
    minimum: Decimal,
) -> None:
    rate = TariffRate(kind=kind, unit_price=price, increment=increment, minimum=minimum)

    def value(d: Decimal) -> sa.ColumnElement[int]:
        return rating_sql.millionths(sa.literal(d, sa.Numeric))

    in_millionths = rating_sql.charge_millionths(
        value(quantity),
        value(price),
        value(increment),
        value(minimum),
        sa.literal(UNITS_PER_PRICE[kind], sa.BigInteger),
    )
    async with db.read() as session:
        in_sql = await session.scalar(sa.select(in_millionths))
    # Scaled exactly: Decimal's default 28 digits would round a charge past 10^22.
    assert Context(prec=60).multiply(in_sql, Decimal("0.000001")) == charge(quantity, rate)

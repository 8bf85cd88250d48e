"""``rating.charge`` in SQL, for sums over stored usage (the tariff preview): the same
billable quantity and the same half-up rounding at 6 places, exactly.

PostgreSQL's numeric ``/`` keeps a limited number of digits, so neither the rounding up to
the increment nor the division by 60 use it: ``div`` and ``mod`` are exact, and rounding
half-up to a millionth is ``div(x * 10^6 + units / 2, units)`` millionths.
"""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tenantry.tariffs.models import UNITS_PER_PRICE

_MILLION = sa.literal(Decimal(1_000_000), sa.Numeric)
_MILLIONTH = sa.literal(Decimal("0.000001"), sa.Numeric)
_HALF = sa.literal(Decimal("0.5"), sa.Numeric)
_ZERO = sa.literal(Decimal(0), sa.Numeric)


def units_per_price(kind_text: sa.ColumnElement[Any]) -> sa.ColumnElement[Decimal]:
    """How many quantity units one unit price buys, by the kind's name (VOICE: 60 s)."""
    return sa.case(
        *(
            (kind_text == kind.value, sa.literal(Decimal(units), sa.Numeric))
            for kind, units in UNITS_PER_PRICE.items()
            if units != 1
        ),
        else_=sa.literal(Decimal(1), sa.Numeric),
    )


def charge(
    quantity: sa.ColumnElement[Decimal],
    unit_price: sa.ColumnElement[Decimal],
    increment: sa.ColumnElement[Decimal],
    minimum: sa.ColumnElement[Decimal],
    units: sa.ColumnElement[Decimal],
) -> sa.ColumnElement[Decimal]:
    """One record's charge. Null where the rate is (no rate) and the quantity is not zero:
    the caller says what that costs."""
    billed = sa.func.greatest(minimum, quantity)
    steps = sa.func.div(billed, increment) + sa.case(
        (sa.func.mod(billed, increment) > 0, sa.literal(Decimal(1), sa.Numeric)), else_=_ZERO
    )
    millionths = sa.func.div(steps * increment * unit_price * _MILLION + units * _HALF, units)
    return sa.case((quantity == 0, _ZERO), else_=millionths * _MILLIONTH)

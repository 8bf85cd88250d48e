"""``rating.charge`` in SQL, for sums over stored usage (the tariff preview): the same
billable quantity and the same half-up rounding at 6 places, exactly.

Quantities, increments, minimums and prices have six places at most, so they are exact
integers of millionths (``bigint``: limits.py keeps them under 10^18). Rounding up to the
increment is integer division there; only the product with the price, which may pass
``bigint``, is ``numeric``, and its half-up rounding to a millionth is an exact ``div``
(PostgreSQL's numeric ``/`` keeps a limited number of digits, so it is not used). The
result is in millionths: callers sum them and scale the sum once.
"""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

MILLION = 1_000_000


def millionths(value: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """A ledger decimal (six places at most) as a whole number of millionths."""
    return sa.cast(value * sa.literal(MILLION, sa.BigInteger), sa.BigInteger)


def charge_millionths(
    quantity: sa.ColumnElement[int],
    unit_price: sa.ColumnElement[int],
    increment: sa.ColumnElement[int],
    minimum: sa.ColumnElement[int],
    units: sa.ColumnElement[int],
) -> sa.ColumnElement[Decimal]:
    """One record's charge in millionths, every argument in millionths but ``units`` (how
    many quantity units a price buys: 60 for VOICE). Null where the rate is null and the
    quantity is not zero: the caller says what that costs."""
    billed = sa.func.greatest(minimum, quantity)
    steps = (billed + increment - 1) // increment  # integer division: rounded up, exactly
    product = sa.cast(steps * increment, sa.Numeric) * unit_price  # in 10^-12 units
    rounded = sa.func.div(product + units * (MILLION // 2), units * MILLION)
    return sa.case((quantity == 0, sa.literal(0, sa.Numeric)), else_=rounded)

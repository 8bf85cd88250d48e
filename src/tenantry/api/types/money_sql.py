"""Money in the compiled read path: the same strings ``ledger.money.display_amount`` gives."""

from typing import Any

import sqlalchemy as sa
from babel.numbers import list_currencies

from tenantry.api.compiler.sql import FieldSQL
from tenantry.ledger.money import currency_precision

# The currencies whose minor unit is not 1/100 (babel's data, as currency_precision reads it).
_ODD_PRECISION = {c: currency_precision(c) for c in sorted(list_currencies())}
_ODD_PRECISION = {c: p for c, p in _ODD_PRECISION.items() if p != 2}


def precision(currency: Any) -> sa.ColumnElement[int]:
    return sa.case(_ODD_PRECISION, value=currency, else_=2)


def display_amount(amount: Any, currency: Any) -> sa.ColumnElement[str]:
    """At the currency's precision when that is exact, else without trailing zeros."""
    places = precision(currency)
    rounded = sa.func.round(amount, places)
    return sa.case(
        (rounded == amount, sa.cast(rounded, sa.Text)),
        else_=sa.cast(sa.func.trim_scale(amount), sa.Text),
    )


# The source of a Money object: (amount column, currency column).
MONEY = {
    "amount": FieldSQL(lambda b, money, f: display_amount(*money)),
    "currency": FieldSQL(lambda b, money, f: money[1]),
}

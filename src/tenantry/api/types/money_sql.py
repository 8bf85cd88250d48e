"""Money in the compiled read path: the same strings ``ledger.money.display_amount`` gives."""

from typing import Any

import sqlalchemy as sa
from babel.numbers import list_currencies
from sqlalchemy.dialects.postgresql import ARRAY

from tenantry.api.compiler.sql import FieldSQL
from tenantry.ledger.money import currency_precision

# The currencies whose minor unit is not 1/100 (babel's data, as currency_precision reads it).
_ODD = [(c, currency_precision(c)) for c in sorted(list_currencies()) if currency_precision(c) != 2]
_CODES = sa.literal([c for c, _ in _ODD], ARRAY(sa.Text))
_PLACES = sa.type_coerce(
    sa.Grouping(sa.literal([p for _, p in _ODD], ARRAY(sa.Integer))), ARRAY(sa.Integer)
)


def precision(currency: Any) -> sa.ColumnElement[int]:
    # One array lookup, not a CASE of fifty branches: the planner folds less, per amount.
    position = sa.func.array_position(_CODES, sa.cast(currency, sa.Text))
    return sa.func.coalesce(_PLACES[position], 2)


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

"""Amounts rendered by PostgreSQL: the same strings ``ledger.money.display_amount`` gives."""

import json
from typing import Any

import sqlalchemy as sa
from babel.numbers import list_currencies
from sqlalchemy.dialects.postgresql import JSONB

from tenantry.ledger.money import currency_precision

# The currencies whose minor unit is not 1/100 (babel's data, as currency_precision reads it),
# as one JSON object: PostgreSQL finds a key in it by binary search.
_ODD_PRECISION = sa.cast(
    sa.literal(
        json.dumps(
            {c: currency_precision(c) for c in list_currencies() if currency_precision(c) != 2},
            sort_keys=True,
        ),
        sa.Text,
    ),
    JSONB,
)


def precision(currency: Any) -> sa.ColumnElement[int]:
    places = sa.cast(_ODD_PRECISION.op("->>")(sa.cast(currency, sa.Text)), sa.Integer)
    return sa.func.coalesce(places, 2)


def display_amount(amount: Any, currency: Any) -> sa.ColumnElement[str]:
    """At the currency's precision when that is exact, else without trailing zeros."""
    places = precision(currency)
    rounded = sa.func.round(amount, places)
    return sa.case(
        (rounded == amount, sa.cast(rounded, sa.Text)),
        else_=sa.cast(sa.func.trim_scale(amount), sa.Text),
    )

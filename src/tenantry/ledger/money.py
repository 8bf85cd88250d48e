"""Currency precision and the one place where amounts people move are rounded.

Rated usage keeps the ledger's six decimal places and is never rounded here; top-ups,
adjustments and invoice lines are in their currency's precision (ISO 4217, via babel).
"""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

from tenantry.core.decimals import plain

# What the ledger's NUMERIC(24, 6) columns hold (limits.py keeps amounts far below it).
_COLUMN_LIMIT = Decimal(10) ** (24 - 6)
_PLACES = 6


def currency_precision(currency: str) -> int:
    """Decimal places of the currency's minor unit: EUR 2, JPY 0, BHD 3."""
    return int(get_currency_precision(currency))


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_precision(currency)), ROUND_HALF_UP)


def fits_currency(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` has no more decimal places than ``currency`` allows."""
    return quantize_money(amount, currency) == amount


def fits_ledger(amount: Decimal) -> bool:
    """Whether the ledger's columns hold ``amount`` exactly (finite, at most six places)."""
    return amount.is_finite() and abs(amount) < _COLUMN_LIMIT and amount == round(amount, _PLACES)


def display_amount(amount: Decimal, currency: str) -> Decimal:
    """At least the currency's precision; more only where rated usage left sub-cent parts."""
    rounded = quantize_money(amount, currency)
    return rounded if rounded == amount else plain(amount)

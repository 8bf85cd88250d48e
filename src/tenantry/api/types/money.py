"""Money in the API: an exact decimal (as a string) and its currency."""

from decimal import Decimal

import strawberry

from tenantry.core.decimals import plain
from tenantry.ledger.money import quantize_money


@strawberry.type(description="An exact amount and its ISO 4217 currency.")
class Money:
    amount: Decimal
    currency: str


def to_money(amount: Decimal, currency: str) -> Money:
    """At least the currency's precision; more only where rated usage left sub-cent parts."""
    rounded = quantize_money(amount, currency)
    return Money(amount=rounded if rounded == amount else plain(amount), currency=currency)

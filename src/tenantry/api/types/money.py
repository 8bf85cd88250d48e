"""Money in the API: an exact decimal (as a string) and its currency."""

from decimal import Decimal

import strawberry

from tenantry.ledger.money import display_amount


@strawberry.type(description="An exact amount and its ISO 4217 currency.")
class Money:
    amount: Decimal
    currency: str


def to_money(amount: Decimal, currency: str) -> Money:
    return Money(amount=display_amount(amount, currency), currency=currency)

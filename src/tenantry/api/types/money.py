"""Money in the API: an exact decimal (as a string) and its currency."""

from decimal import Decimal

import strawberry

from tenantry.ledger.money import display_amount


@strawberry.type(description="An exact amount and its ISO 4217 currency.")
class Money:
    amount: Decimal = strawberry.field(
        description='Exact, as a string ("-12.50"): the currency\'s decimal places, more (up '
        "to 6) only where rated usage left smaller parts. Negative when owed or debited."
    )
    currency: str = strawberry.field(description='ISO 4217 code, e.g. "EUR".')


def to_money(amount: Decimal, currency: str) -> Money:
    return Money(amount=display_amount(amount, currency), currency=currency)

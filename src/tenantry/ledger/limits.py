"""The bounds on money: every amount, balance and charge (README, "Money limits").

The ledger's columns are NUMERIC(24, 6), so they hold less than 10^18. The bounds sit far
below that, so that nothing legal can ever reach it: a balance at its bound plus the
largest batch of charges (10,000 records x 10^12) still fits a posting, and a sum over a
thousand accounts at their bound still fits a column. System accounts keep no stored
balance at all (see ledger/models.py), so no sequence of top-ups can push them anywhere.
Every bound is checked before anything is written and refused with LIMIT_EXCEEDED.
"""

from decimal import Decimal

from tenantry.core.errors import ErrorCode, Field, Problems
from tenantry.ledger.money import currency_precision, fits_currency

# One amount a person types or prices with: a top-up, an adjustment, a credit limit, a
# low-balance threshold (either sign), a tariff unit price or monthly fee, a plan's price.
MAX_AMOUNT = Decimal(10) ** 12
# One usage record's quantity, and a tariff's rounding increment (MB, messages, seconds).
MAX_QUANTITY = Decimal(10) ** 12
# What one usage record costs at one level of the rating cascade.
MAX_CHARGE = Decimal(10) ** 12
# The balance of any account that stores one, either sign.
MAX_BALANCE = Decimal(10) ** 15
# The total of one invoice.
MAX_INVOICE_TOTAL = Decimal(10) ** 15


def within(value: Decimal, bound: Decimal) -> bool:
    return value.is_finite() and abs(value) <= bound


def passes_balance_bound(before: Decimal, after: Decimal) -> bool:
    """Whether a balance change is refused: it ends past MAX_BALANCE. A balance already past
    it (from before the bound) may still move back towards zero."""
    return abs(after) > MAX_BALANCE and abs(after) > abs(before)


def check_bound(
    problems: Problems, value: Decimal, bound: Decimal, field: Field, what: str
) -> bool:
    """Add LIMIT_EXCEEDED when ``|value|`` passes ``bound``; whether it is within.

    Check this before the value's precision: quantizing an oversized decimal fails.
    """
    if within(value, bound):
        return True
    problems.add(ErrorCode.LIMIT_EXCEEDED, f"{what} must be at most {bound:f} in size.", field)
    return False


def check_typed_amount(
    problems: Problems, value: Decimal, currency: str, field: Field, what: str
) -> bool:
    """An amount someone typed: within MAX_AMOUNT, then in the currency's precision."""
    if not check_bound(problems, value, MAX_AMOUNT, field, what):
        return False
    if not fits_currency(value, currency):
        places = currency_precision(currency)
        problems.add(
            ErrorCode.INVALID, f"{currency} amounts have at most {places} decimal places.", field
        )
        return False
    return True

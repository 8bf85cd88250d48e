"""Pricing one quantity by one tariff rate. Pure functions, no I/O."""

from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal

from tenantry.tariffs.models import UNITS_PER_PRICE, TariffRate

CHARGE_QUANTUM = Decimal("0.000001")
_EXACT_DIGITS = 60
# One context for every operation here (a localcontext per call costs more than the
# arithmetic: ingestion rates tens of thousands of charges a batch).
_EXACT = Context(prec=_EXACT_DIGITS)
_ZERO = Decimal(0)


def billable(quantity: Decimal, rate: TariffRate) -> Decimal:
    """The quantity charged for: max(minimum, quantity), rounded up to the increment.

    A record of nothing (zero) is billed nothing: the minimum applies to usage that happened.
    """
    if quantity == 0:
        return _ZERO
    steps = _EXACT.divide(max(rate.minimum, quantity), rate.increment).to_integral_value(
        rounding=ROUND_CEILING, context=_EXACT
    )
    return _EXACT.multiply(steps, rate.increment)


def charge(quantity: Decimal, rate: TariffRate | None) -> Decimal:
    """Price the billable quantity, kept at 6 decimal places (rounded half-up there, once).

    A VOICE price is per minute and its quantity in seconds: billable seconds x price / 60,
    so 7 s at 0.05/min is 0.005833 (0.0058333... half-up at 6 places). Nothing else is
    rounded: the charge is never rounded to the currency per record.

    No rate (no tariff, or the tariff does not price this kind) means this level is free.
    """
    if rate is None or quantity == 0:
        return _ZERO
    # Exact for every quantity, increment and price within limits.py, even where the
    # product passes the charge bound (the caller refuses it): the default 28 digits are not.
    # The product is exact; dividing it by 60 adds at most two places and then, if it does
    # not end, repeats a 3 or a 6 forever: cut at 60 digits, it cannot cross a half at 6.
    amount = _EXACT.divide(
        _EXACT.multiply(billable(quantity, rate), rate.unit_price), UNITS_PER_PRICE[rate.kind]
    )
    return amount.quantize(CHARGE_QUANTUM, ROUND_HALF_UP, context=_EXACT)

"""Pricing one quantity by one tariff rate. Pure functions, no I/O."""

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext

from tenantry.tariffs.models import UNITS_PER_PRICE, TariffRate

CHARGE_QUANTUM = Decimal("0.000001")
_EXACT_DIGITS = 60


def billable(quantity: Decimal, rate: TariffRate) -> Decimal:
    """The quantity charged for: max(minimum, quantity), rounded up to the increment.

    A record of nothing (zero) is billed nothing: the minimum applies to usage that happened.
    """
    if quantity == 0:
        return Decimal(0)
    with localcontext(prec=_EXACT_DIGITS):
        steps = (max(rate.minimum, quantity) / rate.increment).to_integral_value(
            rounding=ROUND_CEILING
        )
        return steps * rate.increment


def charge(quantity: Decimal, rate: TariffRate | None) -> Decimal:
    """Price the billable quantity, kept at 6 decimal places (rounded half-up there, once).

    A VOICE price is per minute and its quantity in seconds: billable seconds x price / 60,
    so 7 s at 0.05/min is 0.005833 (0.0058333... half-up at 6 places). Nothing else is
    rounded: the charge is never rounded to the currency per record.

    No rate (no tariff, or the tariff does not price this kind) means this level is free.
    """
    if rate is None or quantity == 0:
        return Decimal(0)
    # Exact for every quantity, increment and price within limits.py, even where the
    # product passes the charge bound (the caller refuses it): the default 28 digits are not.
    # The product is exact; dividing it by 60 adds at most two places and then, if it does
    # not end, repeats a 3 or a 6 forever: cut at 60 digits, it cannot cross a half at 6.
    with localcontext(prec=_EXACT_DIGITS):
        amount = billable(quantity, rate) * rate.unit_price / UNITS_PER_PRICE[rate.kind]
        return amount.quantize(CHARGE_QUANTUM, ROUND_HALF_UP)

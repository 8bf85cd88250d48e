"""Pricing one quantity by one tariff rate. Pure functions, no I/O."""

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext

from tenantry.tariffs.models import TariffRate

CHARGE_QUANTUM = Decimal("0.000001")
_EXACT_DIGITS = 60


def charge(quantity: Decimal, rate: TariffRate | None) -> Decimal:
    """Round the quantity up to the rate's increment, then price it, to 6 decimal places.

    No rate (no tariff, or the tariff does not price this kind) means this level is free.
    """
    if rate is None or quantity == 0:
        return Decimal(0)
    # Exact for every quantity, increment and price within limits.py, even where the
    # product passes the charge bound (the caller refuses it): the default 28 digits are not.
    with localcontext(prec=_EXACT_DIGITS):
        steps = (quantity / rate.increment).to_integral_value(rounding=ROUND_CEILING)
        return (steps * rate.increment * rate.unit_price).quantize(CHARGE_QUANTUM, ROUND_HALF_UP)

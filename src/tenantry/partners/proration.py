"""Prorating monthly prices by the microsecond, against UTC calendar months. No I/O.

A monthly price (a plan's, an endpoint fee) is the price of one whole calendar month,
whatever its length, so a day of February costs more than a day of March. An amount is
the exact sum of its parts in each month, rounded once (DESIGN.md, "Money"): an invoice
line to its currency's precision, an endpoint fee to 6 places like rated usage.
"""

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from tenantry.ledger.money import currency_precision, quantize_money
from tenantry.usage.rating import CHARGE_QUANTUM

CHARGE_PLACES = 6
# Enough digits for any prorated amount within limits.py, cut one digit past its places.
_EXACT_DIGITS = 60

# Durations are counted in microseconds, the finest unit a datetime holds: integer
# arithmetic, so a ratio of durations is exact (for whole seconds, a ratio of seconds).
_TICK = timedelta(microseconds=1)


def month_start(at: datetime) -> datetime:
    """The first instant of the UTC calendar month holding ``at``."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month_start(at: datetime) -> datetime:
    start = month_start(at)
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def previous_month(at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month before the one holding ``at``."""
    end = month_start(at)
    return month_start(end - _TICK), end


def overlap(
    start: datetime, end: datetime, other_start: datetime, other_end: datetime | None
) -> tuple[datetime, datetime] | None:
    """The common part of [start, end) and [other_start, other_end) (open end: no end)."""
    common_start = max(start, other_start)
    common_end = end if other_end is None else min(end, other_end)
    return (common_start, common_end) if common_start < common_end else None


def prorated_amount(
    monthly_price: Decimal, start: datetime, end: datetime, currency: str
) -> Decimal:
    """Σ over calendar months m of price * (time of [start, end) inside m) / (length of m),
    rounded half-up once to the currency's precision."""
    return _round_half_up(prorated_exact(monthly_price, start, end), currency)


def prorated_charge(monthly_price: Decimal, start: datetime, end: datetime) -> Decimal:
    """The same sum kept like a rated usage charge: rounded half-up once to 6 places."""
    return _round_half_up(prorated_exact(monthly_price, start, end))


def prorated_exact(monthly_price: Decimal, start: datetime, end: datetime) -> Fraction:
    """Σ over calendar months m of price * (time of [start, end) inside m) / (length of m)."""
    exact = Fraction(0)
    month = month_start(start)
    while month < end:
        following = next_month_start(month)
        inside = min(end, following) - max(start, month)
        exact += Fraction(monthly_price) * Fraction(inside // _TICK, (following - month) // _TICK)
        month = following
    return exact


def _round_half_up(exact: Fraction, currency: str | None = None) -> Decimal:
    """Half-up, once: to the currency's precision, or (no currency) to a charge's 6 places."""
    # A Decimal cannot hold 9.99 * 31/60 or 10 * 19/30 exactly; a Fraction can. Cutting
    # the exact value down to one digit more than the result keeps leaves that digit
    # alone to decide the half-up rounding, so the quantizing then rounds exactly as if
    # it had the whole fraction. Prices are never negative, so cutting down is cutting
    # toward zero.
    places = CHARGE_PLACES if currency is None else currency_precision(currency)
    cut = exact.numerator * 10 ** (places + 1) // exact.denominator
    with localcontext(prec=_EXACT_DIGITS):
        value = Decimal(cut).scaleb(-(places + 1))
        if currency is None:
            return value.quantize(CHARGE_QUANTUM, ROUND_HALF_UP)
        return quantize_money(value, currency)

"""Exact decimals shown without noise: no trailing zeros, never exponent notation."""

from decimal import Decimal


def plain(value: Decimal) -> Decimal:
    """``Decimal("1.500000")`` -> 1.5 and ``Decimal("100.000")`` -> 100 (not ``1E+2``)."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1))
    return normalized

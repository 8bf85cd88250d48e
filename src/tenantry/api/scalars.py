"""The API's own scalars, in place of Strawberry's lenient ones (DESIGN: "Money input is
strict").

``Decimal`` is a JSON string of ASCII digits with an optional sign and point: Python's
``Decimal()`` alone would book ``"١٢"`` as 12, ``"1_0"`` as 10, and take ``" 1.00"``,
``"1e5"``, ``"NaN"`` or the JSON number ``1.1``. ``DateTime`` is ISO 8601 and must exist
in UTC: ``9999-12-31T23:59:59-14:00`` does not, and failed later as an unexpected error.
Refusals are request errors with ``extensions.code`` BAD_USER_INPUT.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

BAD_USER_INPUT = "BAD_USER_INPUT"
# Longer than any amount the bounds allow (limits.py) with all its decimals.
DECIMAL_MAX_LENGTH = 40
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_DECIMAL_RULE = (
    "A Decimal is a JSON string of ASCII digits with an optional sign and decimal point, "
    'e.g. "12.50": no numbers, exponents, spaces or separators, '
    f"at most {DECIMAL_MAX_LENGTH} characters."
)
_DATETIME_RULE = "A DateTime is an ISO 8601 string, e.g. 2026-01-31T12:00:00Z"


class InputValueError(GraphQLError):
    """A scalar the client sent that cannot be read; the request fails as BAD_USER_INPUT."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": BAD_USER_INPUT})


def parse_decimal(value: object) -> Decimal:
    if not isinstance(value, str):
        raise InputValueError(f"{_DECIMAL_RULE} Got a JSON {type(value).__name__}.")
    if len(value) > DECIMAL_MAX_LENGTH or not _DECIMAL.fullmatch(value):
        raise InputValueError(_DECIMAL_RULE)
    return Decimal(value)


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise InputValueError(f"{_DATETIME_RULE}.")
    try:
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise InputValueError(f"{_DATETIME_RULE}; this is not one.") from None
    if parsed.tzinfo is not None:
        try:
            parsed.astimezone(UTC)
        except OverflowError:
            raise InputValueError(
                "This DateTime is outside the years 1-9999 once converted to UTC."
            ) from None
    return parsed


def _literal(parse: Any) -> Any:
    """A parser for values written in the document: only string literals are read."""

    def parse_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> object:
        if not isinstance(node, StringValueNode):
            return parse(None)  # refused with the scalar's own message
        return parse(node.value)

    return parse_literal


def _serialize_decimal(value: object) -> str:
    return format(Decimal(value) if isinstance(value, int) else value, "f")


def _serialize_datetime(value: object) -> str:
    assert isinstance(value, datetime)
    return value.isoformat()


DECIMAL = ScalarDefinition(
    name="Decimal",
    description='Exact decimal, as a JSON string of ASCII digits: "-12.50".',
    specified_by_url=None,
    serialize=_serialize_decimal,
    parse_value=parse_decimal,
    parse_literal=_literal(parse_decimal),
)

DATETIME = ScalarDefinition(
    name="DateTime",
    description='Date with time, ISO 8601, with a UTC offset: "2026-01-31T12:00:00Z".',
    specified_by_url=None,
    serialize=_serialize_datetime,
    parse_value=parse_datetime,
    parse_literal=_literal(parse_datetime),
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {Decimal: DECIMAL, datetime: DATETIME}

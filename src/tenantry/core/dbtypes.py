"""Column types shared by feature models."""

from enum import StrEnum

import sqlalchemy as sa

# Identity columns are BIGINT: a larger number is no row's id (and PostgreSQL refuses it).
MAX_ROW_ID = 2**63 - 1


def parse_row_id(text: str) -> int | None:
    """The row id written in ``text`` (ASCII digits only), or None if it cannot be one."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ROW_ID)):
        return None
    value = int(text)
    return value if value <= MAX_ROW_ID else None


def enum_type(enum: type[StrEnum], name: str) -> sa.Enum:
    """A VARCHAR with a CHECK constraint: adding a value later is a plain migration."""
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        length=32,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda e: [member.value for member in e],
    )

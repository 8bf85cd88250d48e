"""Column types shared by feature models."""

from enum import StrEnum

import sqlalchemy as sa


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

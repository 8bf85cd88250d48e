"""Text that PostgreSQL renders exactly as the Python side would: shared by the compiled read
path and the report builder, so that each rendering has one definition."""

from typing import Any

import sqlalchemy as sa


def base64_text(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """Standard base64 of the UTF-8 bytes, on one line."""
    # PostgreSQL breaks base64 lines at 76 characters; Python does not.
    encoded = sa.func.encode(sa.func.convert_to(text, "UTF8"), "base64")
    return sa.func.replace(encoded, sa.func.chr(10), "")


def global_id(type_name: str, id_column: Any) -> sa.ColumnElement[str]:
    """Strawberry's relay ``GlobalID``: base64 of ``Type:id``."""
    return base64_text(sa.literal(f"{type_name}:", sa.Text) + sa.cast(id_column, sa.Text))

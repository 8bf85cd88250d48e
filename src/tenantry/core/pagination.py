"""Keyset pagination: cursors are opaque, and encode the last id seen."""

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from tenantry.core.dbtypes import parse_row_id

T = TypeVar("T")

_PREFIX = "cursor:"


class InvalidCursor(ValueError):
    pass


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    key = parse_row_id(raw[len(_PREFIX) :]) if raw.startswith(_PREFIX) else None
    if key is None:
        raise InvalidCursor(cursor)
    return key


@dataclass(frozen=True)
class PageRequest:
    """Items after ``after`` (an id, exclusive) in id order, at most ``first`` of them."""

    first: int
    after: int | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool

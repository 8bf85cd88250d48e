"""Keyset pagination: cursors are opaque, and encode an id (a row's key) seen."""

import base64
import binascii
from collections.abc import Callable, Sequence
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
    """A page of a list in the list's order, cut as the Relay connection spec says: the
    items between the cursors ``after`` and ``before`` (keys, both exclusive), then at most
    ``first`` of them from the start, then at most ``last`` of those from the end.

    ``first`` is None only when ``last`` is given: the page is then read backwards, from
    the end of the list (``backward``)."""

    first: int | None
    after: int | None = None
    last: int | None = None
    before: int | None = None

    @property
    def backward(self) -> bool:
        return self.first is None

    @property
    def limit(self) -> int:
        """How many items to read in reading order (the list's, or its reverse when
        ``backward``): one more than the page needs, to tell whether more exist."""
        return max(self.first or 0, self.last or 0) + 1

    def cut(self, rows: Sequence[T]) -> "Page[T]":
        """The page out of the first ``limit`` items (or fewer) left by the cursors, in
        reading order. The flags are the spec's HasPreviousPage and HasNextPage: true when
        ``last`` (``first``) cut items off. Where the spec leaves it to the server (only
        ``first`` given: hasPreviousPage; only ``last``: hasNextPage), we decided the flag
        says whether the page has a cursor on that side, ``after`` (``before``): the item
        it names lies there, unless deleted since, and finding out would cost a read."""
        if self.first is None:
            assert self.last is not None
            items = list(rows[: self.last])
            items.reverse()
            return Page(items, has_next=self.before is not None, has_previous=len(rows) > self.last)
        window = list(rows[: self.first])
        has_next = len(rows) > self.first
        if self.last is None:
            return Page(window, has_next=has_next, has_previous=self.after is not None)
        # Both (which the spec discourages): ``last`` of the first ``first``, and a previous
        # page when the cursors left more than ``last``.
        return Page(
            window[max(len(window) - self.last, 0) :],
            has_next=has_next,
            has_previous=len(rows) > self.last,
        )

    def within(self, items: Sequence[T], key: Callable[[T], int]) -> "Page[T]":
        """The page of a whole list held in memory, by the items' ``key``. A cursor that
        names no item of the list (a stale one) gives an empty page."""
        keys = [key(item) for item in items]
        start = 0 if self.after is None else _position(keys, self.after, len(keys) - 1) + 1
        end = len(keys) if self.before is None else _position(keys, self.before, 0)
        left = list(items[start:end])
        if self.backward:
            left.reverse()
        return self.cut(left[: self.limit])


def _position(keys: list[int], key: int, unknown: int) -> int:
    return keys.index(key) if key in keys else unknown


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items in the list's order, and whether the list goes on before and after them."""

    items: list[T]
    has_next: bool
    has_previous: bool

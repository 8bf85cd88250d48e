"""The CSV that ``COPY ... TO STDOUT (FORMAT csv)`` streams, cut into the report's stored
chunks as it comes: memory stays flat whatever the size of the report."""

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

# What a record of the report starts with: the base64 of "Endpoint:" (nine bytes, so its
# encoding ends on a whole group) that begins every endpoint's global id.
_ENDPOINT_ID_PREFIX = base64.b64encode(b"Endpoint:")
_ID_MAX = 48  # the base64 of "Endpoint:" and a 64-bit id is 40 characters

Store = Callable[[bytes, int | None], Coroutine[Any, Any, None]]


class CsvChunks:
    """An output for asyncpg's ``copy_from_query``: takes the pieces it is given, turns
    PostgreSQL's record ends (LF) into CRLF (RFC 4180, what the reports have always had),
    and hands ``store`` chunks of exactly ``chunk_bytes`` (the last one shorter), each with
    the id of the last endpoint it reached.

    One chunk is stored while the next one fills (the database writes it while PostgreSQL
    formats more), never two at once. So it holds at most the chunk being stored, less than
    a chunk being filled and the piece just given (what asyncpg read at once): ``peak_held``
    is the most it held. Use it as an async context manager: leaving it on an error waits
    for the chunk being stored."""

    def __init__(self, chunk_bytes: int, store: Store) -> None:
        self.chunk_bytes, self.store = chunk_bytes, store
        self.size = self.chunks = self.peak_held = 0
        self._pending: list[bytes] = []
        self._held = 0
        self._storing: asyncio.Task[None] | None = None
        self._storing_bytes = 0
        self._quoted = False  # inside a quoted value: an LF there is data, kept as is
        self._head: bytes | None = b""  # the start of a record's first value, while open
        self._endpoint_id: int | None = None

    async def __aenter__(self) -> "CsvChunks":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            await self._flush()
            await self._wait_stored()
        elif self._storing is not None:
            self._storing.cancel()
            with contextlib.suppress(BaseException):
                await self._storing

    async def __call__(self, piece: bytes) -> None:
        piece = self._with_crlf(piece)
        self._pending.append(piece)
        self._held += len(piece)
        while self._held >= self.chunk_bytes:
            data = b"".join(self._pending)
            chunk, rest = data[: self.chunk_bytes], data[self.chunk_bytes :]
            self.peak_held = max(self.peak_held, self._storing_bytes + len(data))
            self._pending, self._held = ([rest] if rest else []), len(rest)
            await self._start_storing(chunk)

    async def _flush(self) -> None:
        """Store what is left (the whole CSV when it is shorter than a chunk)."""
        if self._held:
            data = b"".join(self._pending)
            self.peak_held = max(self.peak_held, self._storing_bytes + len(data))
            self._pending, self._held = [], 0
            await self._start_storing(data)

    async def _start_storing(self, chunk: bytes) -> None:
        await self._wait_stored()
        self.size += len(chunk)
        self.chunks += 1
        self._storing_bytes = len(chunk)
        self._storing = asyncio.create_task(self.store(chunk, self._endpoint_id))

    async def _wait_stored(self) -> None:
        if self._storing is not None:
            storing, self._storing = self._storing, None
            await storing
            self._storing_bytes = 0

    def _with_crlf(self, piece: bytes) -> bytes:
        # A quote character only ever opens, closes or (doubled) escapes within a quoted
        # value, so counting them says which LFs end records. Pieces may end anywhere.
        parts = piece.split(b'"')
        first_outside = 1 if self._quoted else 0
        for i in range(first_outside, len(parts), 2):
            parts[i] = parts[i].replace(b"\n", b"\r\n")
            open_head = self._note_endpoint(parts[i], self._head if i == 0 else None)
            self._head = open_head if i == len(parts) - 1 else None
        if len(parts) % 2 == 0:
            self._quoted = not self._quoted
        return b'"'.join(parts)

    def _note_endpoint(self, outside: bytes, head: bytes | None) -> bytes | None:
        """Remember the endpoint of the last record whose first value (never quoted; up to a
        comma) is complete in ``outside``. ``head`` is what came of that value before
        ``outside``, when a record was open. Returns the start of the record still open at
        the end of ``outside`` while its first value is incomplete."""
        open_head = None
        end = len(outside)
        while True:
            newline = outside.rfind(b"\n", 0, end)
            if newline >= 0:
                text = outside[newline + 1 : newline + 1 + _ID_MAX]
            elif head is not None:
                text = (head + outside[:_ID_MAX])[:_ID_MAX]
            else:
                return open_head
            value, comma, _ = text.partition(b",")
            if comma:
                if value.startswith(_ENDPOINT_ID_PREFIX):
                    with contextlib.suppress(binascii.Error, ValueError):
                        self._endpoint_id = int(base64.b64decode(value)[len(b"Endpoint:") :])
                return open_head
            if end == len(outside):  # the last record, still open
                open_head = text
            if newline < 0:
                return open_head
            end = newline

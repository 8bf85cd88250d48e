"""Relay plumbing: global ids, page arguments and connections with ``totalCount``."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay

from tenantry.api.errors import ClientError
from tenantry.core.dbtypes import parse_row_id
from tenantry.core.pagination import InvalidCursor, Page, PageRequest, decode_cursor, encode_cursor
from tenantry.settings import Settings

NodeType = TypeVar("NodeType", bound=relay.Node)
Row = TypeVar("Row")


# No row has this id: identities start at 1.
UNKNOWN_ID = 0
FirstArg = Annotated[
    int | None,
    strawberry.argument(
        description="Return at most this many items from the start of the page window "
        "(default and maximum: see the README's settings)."
    ),
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(
        description="Return only items after this cursor (an `endCursor` or edge `cursor` "
        "from an earlier page)."
    ),
]
LastArg = Annotated[
    int | None,
    strawberry.argument(
        description="Return at most this many items from the end of the page window; use "
        "with `before` to page backwards."
    ),
]
BeforeArg = Annotated[
    str | None,
    strawberry.argument(
        description="Return only items before this cursor (a `startCursor` or edge `cursor` "
        "from an earlier page)."
    ),
]


def decode_id(value: str, type_name: str) -> int:
    """The database id inside a global id of ``type_name``; ``UNKNOWN_ID`` for anything else.

    Malformed ids and ids of another type then take the same path as unknown ids, and a
    client cannot tell a bad id from an object it may not see.
    """
    try:
        gid = relay.GlobalID.from_id(value)
    except (relay.GlobalIDValueError, ValueError):
        return UNKNOWN_ID
    row_id = parse_row_id(gid.node_id) if gid.type_name == type_name else None
    return UNKNOWN_ID if row_id is None else row_id


def decode_optional_id(value: str | None, type_name: str) -> int | None:
    return None if value is None else decode_id(value, type_name)


def page_request(
    settings: Settings,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> PageRequest:
    """The page the arguments ask for: the default page size from the start when neither
    ``first`` nor ``last`` is given."""
    if first is None and last is None:
        first = settings.default_page_size
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= settings.max_page_size:
            raise ClientError(
                f"'{name}' must be between 0 and {settings.max_page_size}; got {size}."
            )
    return PageRequest(
        first=first, after=_cursor("after", after), last=last, before=_cursor("before", before)
    )


def _cursor(name: str, value: str | None) -> int | None:
    try:
        return None if value is None else decode_cursor(value)
    except InvalidCursor as exc:
        raise ClientError(f"'{name}' is not a cursor this API gave out.") from exc


@strawberry.type(description="A page of a list, with the size of the whole list.")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds (all pages).")
    async def total_count(self) -> int:
        return await self._count()


def page_info(cursors: list[str], page: Page[Any]) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


def build_connection(
    page: Page[Row],
    to_node: Callable[[Row], NodeType],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeType]:
    edges = [
        relay.Edge(cursor=encode_cursor(row.id), node=to_node(row))  # type: ignore[attr-defined]
        for row in page.items
    ]
    return Connection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], page),
        _count=count,
    )


async def child_connection(
    settings: Settings,
    pages: Any,
    counts: Any,
    parent_id: int,
    to_node: Callable[[Row], NodeType],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[NodeType]:
    """A connection of a parent's children through its (page, count) loader pair: one
    statement per level of a nested query, whatever the number of parents."""
    request = page_request(settings, first, after, last, before)
    page: Page[Row] = await pages.load((parent_id, request))
    return build_connection(page, to_node, lambda: counts.load(parent_id))

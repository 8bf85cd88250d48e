"""Keyset paging in SQL, shared by repositories (like a generic repository base).

``page_of`` pages one list; ``pages_by_key`` pages many lists at once (the children of
many parents, in one statement) so a nested connection costs one query per level.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.core.pagination import Page, PageRequest
from tenantry.db.base import Base

M = TypeVar("M", bound=Base)
K = TypeVar("K")


def any_of(column: InstrumentedAttribute[Any], values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """``column = ANY($1)`` with one array parameter, however many values."""
    return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))


def _reading(
    id_col: Any, page: PageRequest, descending: bool
) -> tuple[list[sa.ColumnElement[bool]], bool]:
    """The cursors' bounds on ids, and whether ids are read in descending order: the
    list's order (ascending, or ``descending``), reversed when the page is read backwards."""
    bounds = []
    if page.after is not None:
        bounds.append(id_col < page.after if descending else id_col > page.after)
    if page.before is not None:
        bounds.append(id_col > page.before if descending else id_col < page.before)
    return bounds, descending != page.backward


async def page_of(
    session: AsyncSession, model: type[M], page: PageRequest, *where: sa.ColumnElement[bool]
) -> Page[M]:
    """In id order."""
    id_col: InstrumentedAttribute[int] = model.id  # type: ignore[attr-defined]
    bounds, reading_descending = _reading(id_col, page, descending=False)
    order = id_col.desc() if reading_descending else id_col
    stmt = sa.select(model).where(*where, *bounds).order_by(order).limit(page.limit)
    return page.cut(list((await session.scalars(stmt)).all()))


async def pages_by_key(
    session: AsyncSession,
    model: type[M],
    key_column: InstrumentedAttribute[Any],
    keys: Sequence[K],
    page: PageRequest,
    *where: sa.ColumnElement[bool],
    descending: bool = False,
) -> dict[K, Page[M]]:
    """Oldest first (ascending ids), or newest first (``descending``); a page read
    backwards takes the ids the other way, and each page is put back in order."""
    id_col: InstrumentedAttribute[int] = model.id  # type: ignore[attr-defined]
    bounds, reading_descending = _reading(id_col, page, descending)
    order = id_col.desc() if reading_descending else id_col
    rank = sa.func.row_number().over(partition_by=key_column, order_by=order).label("rank")
    inner = sa.select(model, rank).where(any_of(key_column, keys), *where, *bounds)
    sub = inner.subquery()
    row_alias = aliased(model, sub)
    stmt = (
        sa.select(row_alias)
        .where(sub.c.rank <= page.limit)
        .order_by(sub.c.id.desc() if reading_descending else sub.c.id)
    )
    grouped: dict[K, list[M]] = defaultdict(list)
    for row in (await session.scalars(stmt)).all():
        grouped[getattr(row, key_column.key)].append(row)
    return {key: page.cut(grouped[key]) for key in keys}


async def counts_by_key(
    session: AsyncSession,
    key_column: InstrumentedAttribute[Any],
    keys: Iterable[K],
    *where: sa.ColumnElement[bool],
) -> dict[K, int]:
    key_list = list(keys)
    stmt = (
        sa.select(key_column, sa.func.count())
        .where(any_of(key_column, key_list), *where)
        .group_by(key_column)
    )
    found: dict[K, int] = {key: count for key, count in (await session.execute(stmt)).all()}
    return {key: found.get(key, 0) for key in key_list}

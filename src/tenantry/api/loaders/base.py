"""Helpers shared by loaders: one batched statement per (relation, page shape)."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.engine import Database

T = TypeVar("T")
K = TypeVar("K")


class ScopedLoader(DataLoader, Generic[K, T]):  # type: ignore[type-arg]
    """A loader that reads through the caller's scope, one short session per batch."""

    def __init__(self, db: Database, scope: Scope) -> None:
        super().__init__()
        self.db = db
        self.scope = scope


ById = Callable[[AsyncSession, Scope, Sequence[int]], Awaitable[list[T]]]
PagesBy = Callable[[AsyncSession, Scope, Sequence[int], PageRequest], Awaitable[dict[int, Page[T]]]]
CountsBy = Callable[[AsyncSession, Scope, Sequence[int]], Awaitable[dict[int, int]]]


class ByIdLoader(ScopedLoader[int, T | None]):
    fetch: ById[T]

    async def batch_load_fn(self, keys: list[int]) -> list[T | None]:
        async with self.db.read() as session:
            rows = await type(self).fetch(session, self.scope, keys)
        found = {row.id: row for row in rows}  # type: ignore[attr-defined]
        return [found.get(key) for key in keys]


class PageByParentLoader(ScopedLoader[tuple[int, PageRequest], Page[T]]):
    """Key: (parent id, page request). Parents asking for the same page share a statement."""

    fetch: PagesBy[T]

    async def batch_load_fn(self, keys: list[tuple[int, PageRequest]]) -> list[Page[T]]:
        parents_by_page: dict[PageRequest, list[int]] = defaultdict(list)
        for parent_id, page in keys:
            parents_by_page[page].append(parent_id)
        results: dict[tuple[int, PageRequest], Page[T]] = {}
        async with self.db.read() as session:
            for page, parent_ids in parents_by_page.items():
                pages = await type(self).fetch(session, self.scope, parent_ids, page)
                results.update({(pid, page): pages[pid] for pid in parent_ids})
        return [results[key] for key in keys]


class CountByParentLoader(ScopedLoader[int, int]):
    fetch: CountsBy

    async def batch_load_fn(self, keys: list[int]) -> list[int]:
        async with self.db.read() as session:
            counts = await type(self).fetch(session, self.scope, keys)
        return [counts[key] for key in keys]

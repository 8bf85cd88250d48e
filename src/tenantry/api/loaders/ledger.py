"""Account, posting and ledger transaction loaders."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from tenantry.api.loaders.base import ByIdLoader, ScopedLoader
from tenantry.core.pagination import Page, PageRequest
from tenantry.ledger import repository as repo
from tenantry.ledger.models import Account, LedgerTransaction, Posting, TransactionKind


class AccountByIdLoader(ByIdLoader[Account]):
    fetch = staticmethod(repo.accounts_by_ids)


class PostingByIdLoader(ByIdLoader[Posting]):
    fetch = staticmethod(repo.postings_by_ids)


class TenantAccountLoader(ScopedLoader[int, Account | None]):
    """Key: tenant id; the tenant's own account."""

    async def batch_load_fn(self, keys: list[int]) -> list[Account | None]:
        async with self.db.read() as session:
            found = {a.tenant_id: a for a in await repo.tenant_accounts(session, self.scope, keys)}
        return [found.get(key) for key in keys]


@dataclass(frozen=True)
class PostingFilters:
    kinds: tuple[TransactionKind, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class PostingCountKey:
    account_id: int
    filters: PostingFilters


@dataclass(frozen=True)
class PostingPageKey:
    account_id: int
    page: PageRequest
    filters: PostingFilters

    def count_key(self) -> PostingCountKey:
        return PostingCountKey(self.account_id, self.filters)


class PostingPageLoader(ScopedLoader[PostingPageKey, Page[Posting]]):
    """Newest first; accounts asking for the same page and filters share one statement."""

    async def batch_load_fn(self, keys: list[PostingPageKey]) -> list[Page[Posting]]:
        groups: dict[tuple[PageRequest, PostingFilters], list[int]] = defaultdict(list)
        for key in keys:
            groups[(key.page, key.filters)].append(key.account_id)
        results: dict[PostingPageKey, Page[Posting]] = {}
        async with self.db.read() as session:
            for (page, f), account_ids in groups.items():
                pages = await repo.posting_pages(
                    session, self.scope, account_ids, page, f.kinds, f.since, f.until
                )
                for account_id in account_ids:
                    results[PostingPageKey(account_id, page, f)] = pages[account_id]
        return [results[key] for key in keys]


class PostingCountLoader(ScopedLoader[PostingCountKey, int]):
    async def batch_load_fn(self, keys: list[PostingCountKey]) -> list[int]:
        groups: dict[PostingFilters, list[int]] = defaultdict(list)
        for key in keys:
            groups[key.filters].append(key.account_id)
        results: dict[PostingCountKey, int] = {}
        async with self.db.read() as session:
            for f, account_ids in groups.items():
                counts = await repo.posting_counts(
                    session, self.scope, account_ids, f.kinds, f.since, f.until
                )
                for account_id in account_ids:
                    results[PostingCountKey(account_id, f)] = counts[account_id]
        return [results[key] for key in keys]


class LedgerTransactionByIdLoader(ScopedLoader[int, LedgerTransaction]):
    """Transactions behind postings the caller already holds (loaded through the scope)."""

    async def batch_load_fn(self, keys: list[int]) -> list[LedgerTransaction]:
        async with self.db.read() as session:
            found = {t.id: t for t in await repo.transactions_by_ids(session, keys)}
        return [found[key] for key in keys]

"""All SQL about accounts, ledger transactions and postings."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.ledger.models import (
    Account,
    LedgerTransaction,
    OwnerKind,
    Posting,
    SystemPurpose,
    TransactionKind,
)


async def add_account(session: AsyncSession, account: Account) -> Account:
    session.add(account)
    await session.flush()
    return account


async def get(session: AsyncSession, scope: Scope, account_id: int) -> Account | None:
    return await session.scalar(
        sa.select(Account).where(
            Account.id == account_id, scope.owned_by_visible_tenant(Account.tenant_id)
        )
    )


async def current(session: AsyncSession, account_id: int) -> Account:
    """The account as the database has it now, replacing any copy the session holds."""
    stmt = (
        sa.select(Account).where(Account.id == account_id).execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


async def tenant_account(session: AsyncSession, tenant_id: int) -> Account | None:
    return await session.scalar(
        sa.select(Account).where(
            Account.tenant_id == tenant_id, Account.owner_kind == OwnerKind.TENANT
        )
    )


async def system_account(
    session: AsyncSession, *, root_tenant_id: int, purpose: SystemPurpose, currency: str
) -> Account:
    stmt = sa.select(Account).where(
        Account.owner_kind == OwnerKind.SYSTEM,
        Account.system_purpose == purpose,
        Account.currency == currency,
    )
    # Looked up first: an insert that does nothing would still use up an account id.
    found = await session.scalar(stmt)
    if found is not None:
        return found
    # A concurrent creator of the same account makes this insert wait for its commit and
    # then do nothing; the second SELECT, a new statement, then sees the committed row.
    await session.execute(
        pg_insert(Account)
        .values(
            tenant_id=root_tenant_id,
            owner_kind=OwnerKind.SYSTEM,
            system_purpose=purpose,
            currency=currency,
            balance=None,
            credit_limit=Decimal(0),
        )
        .on_conflict_do_nothing(
            index_elements=[Account.system_purpose, Account.currency],
            # A literal, as in the index: a bound parameter would stop PostgreSQL from
            # matching the partial index once it switches to a generic plan.
            index_where=sa.text("owner_kind = 'SYSTEM'"),
        )
    )
    return (await session.scalars(stmt)).one()


async def system_accounts_by_ids(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[Account]:
    """Those of the accounts that are system accounts, unlocked, in one statement."""
    stmt = sa.select(Account).where(
        any_of(Account.id, account_ids), Account.owner_kind == OwnerKind.SYSTEM
    )
    return list((await session.scalars(stmt)).all())


async def lock_accounts(session: AsyncSession, account_ids: Sequence[int]) -> list[Account]:
    """Lock those of the accounts that store a balance; system accounts are never locked."""
    # Every balance change takes its rows in ascending id order: two transfers touching the
    # same accounts then queue on the first shared row instead of deadlocking.
    stmt = (
        sa.select(Account)
        .where(any_of(Account.id, account_ids), Account.balance.is_not(None))
        .order_by(Account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


# One statement for any number of accounts: the rows are locked already (lock_accounts),
# and the change is applied in SQL, so the stored balance stays the sum of the postings.
_ADD_TO_BALANCES = sa.text(
    """
    UPDATE accounts SET balance = accounts.balance + d.delta
    FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS numeric[])) AS d(id, delta)
    WHERE accounts.id = d.id AND accounts.balance IS NOT NULL
    """
)


async def add_to_balances(session: AsyncSession, changes: dict[int, Decimal]) -> None:
    """Add each amount to its account's stored balance, all in one statement."""
    if changes:
        ids = sorted(changes)
        await session.execute(_ADD_TO_BALANCES, {"ids": ids, "deltas": [changes[i] for i in ids]})


_INSERT_POSTINGS = sa.text(
    """
    INSERT INTO postings
        (transaction_id, account_id, tenant_id, kind, currency, amount, balance_after)
    SELECT :transaction_id, a, t, k, c, m, b FROM unnest(
        CAST(:accounts AS bigint[]), CAST(:tenants AS bigint[]), CAST(:kinds AS varchar[]),
        CAST(:currencies AS varchar[]), CAST(:amounts AS numeric[]),
        CAST(:balances AS numeric[])
    ) WITH ORDINALITY AS p(a, t, k, c, m, b, n)
    ORDER BY n
    """
)


@dataclass(frozen=True, slots=True)
class NewPosting:
    account_id: int
    tenant_id: int
    kind: TransactionKind
    currency: str
    amount: Decimal
    balance_after: Decimal | None


async def insert_postings(
    session: AsyncSession, transaction_id: int, postings: Sequence[NewPosting]
) -> None:
    """Insert a transaction's postings, in their order, in one statement."""
    await session.execute(
        _INSERT_POSTINGS,
        {
            "transaction_id": transaction_id,
            "accounts": [p.account_id for p in postings],
            "tenants": [p.tenant_id for p in postings],
            "kinds": [p.kind.value for p in postings],
            "currencies": [p.currency for p in postings],
            "amounts": [p.amount for p in postings],
            "balances": [p.balance_after for p in postings],
        },
    )


async def insert_transaction(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: TransactionKind,
    description: str | None,
    reference: str | None,
    idempotency_key: str | None,
    request_digest: str | None,
    actor_user_id: int | None,
    impersonated_tenant_id: int | None,
) -> LedgerTransaction | None:
    """Insert a transaction, or return None if its idempotency key is already taken.

    A concurrent insert of the same key waits here until the first one commits (then
    None) or rolls back (then this one wins), so a key is claimed exactly once.
    """
    stmt = (
        pg_insert(LedgerTransaction)
        .values(
            tenant_id=tenant_id,
            kind=kind,
            description=description,
            reference=reference,
            idempotency_key=idempotency_key,
            request_digest=request_digest,
            actor_user_id=actor_user_id,
            impersonated_tenant_id=impersonated_tenant_id,
        )
        .on_conflict_do_nothing(
            index_elements=[LedgerTransaction.tenant_id, LedgerTransaction.idempotency_key],
            index_where=LedgerTransaction.idempotency_key.is_not(None),
        )
        .returning(LedgerTransaction)
    )
    return (await session.scalars(stmt)).one_or_none()


async def transaction_by_key(
    session: AsyncSession, tenant_id: int, idempotency_key: str
) -> LedgerTransaction:
    stmt = sa.select(LedgerTransaction).where(
        LedgerTransaction.tenant_id == tenant_id,
        LedgerTransaction.idempotency_key == idempotency_key,
    )
    return (await session.scalars(stmt)).one()


async def transactions_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[LedgerTransaction]:
    """Unscoped: only for transactions behind postings already read through a scope."""
    stmt = sa.select(LedgerTransaction).where(any_of(LedgerTransaction.id, ids))
    return list((await session.scalars(stmt)).all())


async def posting_of(session: AsyncSession, transaction_id: int, account_id: int) -> Posting:
    """The (first) posting a transaction made on one account."""
    stmt = (
        sa.select(Posting)
        .where(Posting.transaction_id == transaction_id, Posting.account_id == account_id)
        .order_by(Posting.id)
        .limit(1)
    )
    return (await session.scalars(stmt)).one()


async def posted_sum(session: AsyncSession, account_id: int) -> Decimal:
    """The sum of an account's postings: a system account's balance."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(Posting.amount), 0)).where(
        Posting.account_id == account_id
    )
    return Decimal(await session.scalar(stmt) or 0)


def _system_account_ids() -> sa.Select[int]:
    return sa.select(Account.id).where(Account.owner_kind == OwnerKind.SYSTEM)


def readable(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on ``accounts``: those the scope may read (by id, or as a tenant's own).
    System accounts are the platform's bookkeeping, not anyone's account to read."""
    return sa.and_(
        Account.owner_kind != OwnerKind.SYSTEM,
        scope.tenant_accounts(Account.tenant_id, Account.owner_kind == OwnerKind.TENANT),
    )


async def accounts_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Account]:
    stmt = sa.select(Account).where(any_of(Account.id, ids), readable(scope))
    return list((await session.scalars(stmt)).all())


def tenant_account_filter(scope: Scope) -> tuple[sa.ColumnElement[bool], ...]:
    """Filter on ``accounts``: tenants' own accounts the scope may read."""
    return (Account.owner_kind == OwnerKind.TENANT, readable(scope))


async def tenant_accounts(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]
) -> list[Account]:
    stmt = sa.select(Account).where(
        any_of(Account.tenant_id, tenant_ids), *tenant_account_filter(scope)
    )
    return list((await session.scalars(stmt)).all())


def posting_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on postings read by id (both read paths): those of tenants in scope, never a
    system account's."""
    return sa.and_(
        scope.owned_by_visible_tenant(Posting.tenant_id),
        Posting.account_id.not_in(_system_account_ids()),
    )


async def postings_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Posting]:
    stmt = sa.select(Posting).where(any_of(Posting.id, ids), posting_filter(scope))
    return list((await session.scalars(stmt)).all())


def posting_filters(
    scope: Scope,
    kinds: Sequence[TransactionKind] | None,
    since: datetime | sa.ColumnElement[datetime] | None,
    until: datetime | sa.ColumnElement[datetime] | None,
) -> list[sa.ColumnElement[bool]]:
    """Filter on ``postings``: an account's history as readers see it (the compiled read
    path passes bound parameters for the times). ``since`` is inclusive, ``until``
    exclusive, so adjacent ranges never overlap."""
    where = [scope.owned_by_visible_tenant(Posting.tenant_id)]
    if kinds is not None:
        where.append(Posting.kind.in_(kinds))
    if since is not None:
        where.append(Posting.created_at >= since)
    if until is not None:
        where.append(Posting.created_at < until)
    return where


async def posting_pages(  # noqa: PLR0917 - the posting loaders pass filters positionally
    session: AsyncSession,
    scope: Scope,
    account_ids: Sequence[int],
    page: PageRequest,
    kinds: Sequence[TransactionKind] | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[int, Page[Posting]]:
    """Each account's postings, newest first."""
    return await pages_by_key(
        session,
        Posting,
        Posting.account_id,
        account_ids,
        page,
        *posting_filters(scope, kinds, since, until),
        descending=True,
    )


async def posting_counts(  # noqa: PLR0917 - as posting_pages
    session: AsyncSession,
    scope: Scope,
    account_ids: Sequence[int],
    kinds: Sequence[TransactionKind] | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[int, int]:
    return await counts_by_key(
        session, Posting.account_id, account_ids, *posting_filters(scope, kinds, since, until)
    )


async def balance_mismatches(session: AsyncSession) -> list[tuple[int, Decimal, Decimal]]:
    """(account id, stored balance, sum of postings) wherever an account stores a balance
    and it differs from the sum (system accounts store none)."""
    sums = (
        sa.select(Posting.account_id, sa.func.sum(Posting.amount).label("total"))
        .group_by(Posting.account_id)
        .subquery()
    )
    total = sa.func.coalesce(sums.c.total, 0)
    stmt = (
        sa.select(Account.id, Account.balance, total)
        .outerjoin(sums, sums.c.account_id == Account.id)
        .where(Account.balance.is_not(None), Account.balance != total)
        .order_by(Account.id)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(stmt)).all()]


async def unbalanced_transactions(session: AsyncSession) -> list[tuple[int, str, Decimal]]:
    """(transaction id, currency, sum) wherever a transaction's postings do not sum to zero."""
    total = sa.func.sum(Posting.amount)
    stmt = (
        sa.select(Posting.transaction_id, Posting.currency, total)
        .group_by(Posting.transaction_id, Posting.currency)
        .having(total != 0)
        .order_by(Posting.transaction_id, Posting.currency)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(stmt)).all()]

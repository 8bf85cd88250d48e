"""Rules for moving money: accounts, transfers, top-ups, adjustments, billing status.

Nothing here commits: the caller owns the transaction and rolls it back on any error, so a
refused transfer leaves no trace.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from tenantry.auth.principal import Principal
from tenantry.core.change import KEEP, Change, Keep
from tenantry.core.errors import DomainError, ErrorCode, Field, Problems
from tenantry.ledger import repository as repo
from tenantry.ledger.errors import (
    account_not_found,
    idempotency_key_reused,
    insufficient_funds,
    own_account_forbidden,
)
from tenantry.ledger.limits import MAX_BALANCE, check_typed_amount, passes_balance_bound
from tenantry.ledger.models import (
    Account,
    LedgerTransaction,
    OwnerKind,
    Posting,
    SystemPurpose,
    TransactionKind,
)
from tenantry.ledger.money import fits_ledger, quantize_money
from tenantry.metrics import count_ledger_transaction
from tenantry.tenants import repository as tenants_repo

# ledger_transactions.idempotency_key is VARCHAR(200).
IDEMPOTENCY_KEY_MAX = 200

ACCOUNT_FIELD = ("input", "accountId")
AMOUNT_FIELD = ("input", "amount")
KEY_FIELD = ("input", "idempotencyKey")
REASON_FIELD = ("input", "reason")


class AdjustmentDirection(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


class BillingStatus(StrEnum):
    ACTIVE = "ACTIVE"
    LOW_BALANCE = "LOW_BALANCE"
    BLOCKED = "BLOCKED"


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: Decimal  # signed: positive credits the account, negative debits it
    kind: TransactionKind  # the posting's kind, seen from that account


async def open_account(
    session: AsyncSession, *, tenant_id: int, owner_kind: OwnerKind, currency: str
) -> Account:
    if owner_kind is OwnerKind.SYSTEM:
        raise ValueError("System accounts are opened by system_account().")
    account = Account(
        tenant_id=tenant_id,
        owner_kind=owner_kind,
        currency=currency,
        balance=Decimal(0),
        credit_limit=Decimal(0),
    )
    return await repo.add_account(session, account)


async def system_account(
    session: AsyncSession, *, root_tenant_id: int, purpose: SystemPurpose, currency: str
) -> Account:
    """The platform's account for ``purpose`` in ``currency``, created on first use."""
    return await repo.system_account(
        session, root_tenant_id=root_tenant_id, purpose=purpose, currency=currency
    )


def _check_legs(legs: Sequence[Leg], accounts: dict[int, Account]) -> None:
    missing = {leg.account_id for leg in legs} - accounts.keys()
    if missing:
        raise ValueError(f"No such accounts: {sorted(missing)}")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:
        totals[accounts[leg.account_id].currency] += leg.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise ValueError(f"Legs must sum to zero per currency, got {unbalanced}")


def _check_balances(
    legs: Sequence[Leg], accounts: dict[int, Account], limit_field: Field | None
) -> None:
    """Refuse a transfer that would take a stored balance past its bound (limits.py)."""
    change: dict[int, Decimal] = defaultdict(Decimal)
    for leg in legs:
        change[leg.account_id] += leg.amount
    for account_id, amount in sorted(change.items()):
        before = accounts[account_id].balance
        if before is None:
            continue
        if passes_balance_bound(before, before + amount):
            raise DomainError.one(
                ErrorCode.LIMIT_EXCEEDED,
                f"This would take the account's balance past {MAX_BALANCE:f} in size.",
                limit_field,
            )


async def post_transfer(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: TransactionKind,
    legs: Sequence[Leg],
    description: str | None = None,
    reference: str | None = None,
    actor_user_id: int | None = None,
    impersonated_tenant_id: int | None = None,
    idempotency_key: str | None = None,
    request_digest: str | None = None,
    enforce_credit_limit: Collection[int] = (),
    limit_field: Field | None = AMOUNT_FIELD,
    locked: Mapping[int, Account] | None = None,
) -> LedgerTransaction:
    """Move money between accounts as one balanced transaction, one posting per leg.

    ``tenant_id`` is the tenant acting (whose idempotency keys these are). If it already
    used ``idempotency_key``, nothing moves: the first transaction is returned when
    ``request_digest`` matches it, and IDEMPOTENCY_KEY_REUSED raised when not. Accounts in
    ``enforce_credit_limit`` may not end below minus their credit limit (INSUFFICIENT_FUNDS).
    No account may end past the balance bound (LIMIT_EXCEEDED, on ``limit_field``).
    ``locked``: the legs' accounts that store a balance, already locked by the caller (in id
    order, in this transaction), so they are not locked again.

    A constant number of statements whatever the number of legs: the accounts are locked in
    one, every balance is updated in one, every posting inserted in one.
    Unbalanced or malformed legs are a programming error (ValueError).
    """
    if not legs or not all(fits_ledger(leg.amount) for leg in legs):
        raise ValueError(f"A transfer needs legs with at most six decimal places, got {legs}")
    # The key is claimed before any account is locked: a request waiting on a key must not
    # hold account rows the key's first holder may still need.
    transaction = await repo.insert_transaction(
        session,
        tenant_id=tenant_id,
        kind=kind,
        description=description,
        reference=reference,
        idempotency_key=idempotency_key,
        request_digest=request_digest,
        actor_user_id=actor_user_id,
        impersonated_tenant_id=impersonated_tenant_id,
    )
    if transaction is None:
        assert idempotency_key is not None, "only a key can conflict"
        first = await repo.transaction_by_key(session, tenant_id, idempotency_key)
        if first.request_digest != request_digest:
            raise idempotency_key_reused(KEY_FIELD)
        return first
    count_ledger_transaction(session, kind.value)

    account_ids = sorted({leg.account_id for leg in legs})
    if locked is None:
        locked = {account.id: account for account in await repo.lock_accounts(session, account_ids)}
    accounts = {i: locked[i] for i in account_ids if i in locked}
    # System accounts are read, never locked: they store no balance (see models.py), so
    # concurrent top-ups in one currency do not queue on one row.
    if len(accounts) < len(account_ids):
        unlocked = [i for i in account_ids if i not in accounts]
        accounts.update((a.id, a) for a in await repo.system_accounts_by_ids(session, unlocked))
    _check_legs(legs, accounts)
    _check_balances(legs, accounts, limit_field)
    # Set-based, whatever the number of accounts: the running balances are worked out here
    # from the locked rows, then one statement updates every balance and one inserts every
    # posting (a posting's balance_after is its account's balance just after it).
    running = {i: a.balance for i, a in accounts.items() if a.balance is not None}
    postings = []
    for leg in legs:
        account = accounts[leg.account_id]
        balance_after = None
        if account.balance is not None:
            balance_after = running[account.id] = running[account.id] + leg.amount
        postings.append(
            repo.NewPosting(
                account.id, account.tenant_id, leg.kind, account.currency, leg.amount, balance_after
            )
        )
    await repo.add_to_balances(
        session, {i: running[i] - a.balance for i, a in accounts.items() if a.balance is not None}
    )
    for account_id, balance in running.items():
        # The session's copies follow the database without being marked changed.
        set_committed_value(accounts[account_id], "balance", balance)
    for account_id in sorted(accounts.keys() & set(enforce_credit_limit)):
        account = accounts[account_id]
        if account.balance is not None and account.balance < -account.credit_limit:
            raise insufficient_funds(AMOUNT_FIELD)
    await repo.insert_postings(session, transaction.id, postings)
    return transaction


async def _target_account(
    session: AsyncSession, principal: Principal, account_id: int | None
) -> Account:
    """The account a top-up or adjustment is for, if this principal may move its money."""
    account = None if account_id is None else await repo.get(session, principal.scope, account_id)
    if account is None or account.owner_kind is OwnerKind.SYSTEM:
        raise account_not_found(ACCOUNT_FIELD)
    principal.require_admin()
    if account.owner_kind is OwnerKind.TENANT:
        owner = await tenants_repo.get(session, principal.scope, account.tenant_id)
        assert owner is not None, "a visible account has a visible owner"
        # Visible and not a strict ancestor means the owner itself.
        if not principal.scope.is_strict_ancestor_of(owner):
            raise own_account_forbidden(ACCOUNT_FIELD)
    return account


def _check_amount(problems: Problems, amount: Decimal, currency: str) -> None:
    if not amount.is_finite() or amount <= 0:
        problems.add(ErrorCode.INVALID, "Amount must be greater than zero.", AMOUNT_FIELD)
    else:
        check_typed_amount(problems, amount, currency, AMOUNT_FIELD, "An amount")


def _check_idempotency_key(problems: Problems, key: str) -> None:
    if not key.strip():
        problems.add(ErrorCode.INVALID, "Idempotency key must not be blank.", KEY_FIELD)
    elif len(key) > IDEMPOTENCY_KEY_MAX:
        problems.add(
            ErrorCode.INVALID,
            f"Idempotency key must be at most {IDEMPOTENCY_KEY_MAX} characters.",
            KEY_FIELD,
        )


def _request_digest(*parts: str | int | None) -> str:
    # JSON keeps the parts apart unambiguously: ("a", "b c") never digests like ("a b", "c").
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


async def _system_account_for(
    session: AsyncSession, purpose: SystemPurpose, currency: str
) -> Account:
    root = await tenants_repo.get_root(session)
    assert root is not None, "a principal exists, so the platform has its root"
    return await system_account(session, root_tenant_id=root.id, purpose=purpose, currency=currency)


async def _result(
    session: AsyncSession, transaction: LedgerTransaction, account_id: int
) -> tuple[Account, Posting]:
    posting = await repo.posting_of(session, transaction.id, account_id)
    return await repo.current(session, account_id), posting


async def top_up(
    session: AsyncSession,
    principal: Principal,
    *,
    account_id: int | None,
    amount: Decimal,
    idempotency_key: str,
    reference: str | None,
) -> tuple[Account, Posting]:
    """Credit an account with money paid from outside; returns it and its posting."""
    account = await _target_account(session, principal, account_id)
    problems = Problems()
    _check_amount(problems, amount, account.currency)
    _check_idempotency_key(problems, idempotency_key)
    problems.raise_if_any()

    amount = quantize_money(amount, account.currency)
    reference = (reference or "").strip() or None
    funding = await _system_account_for(session, SystemPurpose.FUNDING, account.currency)
    transaction = await post_transfer(
        session,
        tenant_id=principal.tenant_id,
        kind=TransactionKind.TOP_UP,
        legs=[
            Leg(account.id, amount, TransactionKind.TOP_UP),
            Leg(funding.id, -amount, TransactionKind.TOP_UP),
        ],
        description=reference,
        reference=reference,
        actor_user_id=principal.user_id,
        impersonated_tenant_id=principal.impersonated_tenant_id,
        idempotency_key=idempotency_key,
        request_digest=_request_digest("top_up", account.id, str(amount), reference),
    )
    return await _result(session, transaction, account.id)


async def adjust(
    session: AsyncSession,
    principal: Principal,
    *,
    account_id: int | None,
    direction: AdjustmentDirection,
    amount: Decimal,
    reason: str,
    idempotency_key: str,
) -> tuple[Account, Posting]:
    """Debit or credit an account by hand, with a reason; returns it and its posting.

    A debit may not take the account past its credit limit.
    """
    account = await _target_account(session, principal, account_id)
    problems = Problems()
    _check_amount(problems, amount, account.currency)
    _check_idempotency_key(problems, idempotency_key)
    reason = reason.strip()
    if not reason:
        problems.add(ErrorCode.INVALID, "An adjustment needs a reason.", REASON_FIELD)
    problems.raise_if_any()

    amount = quantize_money(amount, account.currency)
    kind = TransactionKind(direction.value)
    # Seen from the account: a credit adds, a debit takes away.
    signed = amount if direction is AdjustmentDirection.CREDIT else -amount
    adjustments = await _system_account_for(session, SystemPurpose.ADJUSTMENTS, account.currency)
    transaction = await post_transfer(
        session,
        tenant_id=principal.tenant_id,
        kind=kind,
        legs=[Leg(account.id, signed, kind), Leg(adjustments.id, -signed, kind)],
        description=reason,
        actor_user_id=principal.user_id,
        impersonated_tenant_id=principal.impersonated_tenant_id,
        idempotency_key=idempotency_key,
        request_digest=_request_digest("adjust", account.id, direction.value, str(amount), reason),
        enforce_credit_limit={account.id} if direction is AdjustmentDirection.DEBIT else (),
    )
    return await _result(session, transaction, account.id)


def billing_status(account: Account) -> BillingStatus:
    assert account.balance is not None, "system accounts have no billing status"
    if account.balance < -account.credit_limit:
        return BillingStatus.BLOCKED
    threshold = account.low_balance_threshold
    if threshold is not None and account.balance < threshold:
        return BillingStatus.LOW_BALANCE
    return BillingStatus.ACTIVE


async def check_invariants(session: AsyncSession) -> list[str]:
    """Every way the ledger disagrees with itself, in words; empty when it is healthy."""
    return [
        f"Account {account_id}: balance {balance}, but its postings sum to {total}."
        for account_id, balance, total in await repo.balance_mismatches(session)
    ] + [
        f"Transaction {transaction_id}: its {currency} postings sum to {total}, not zero."
        for transaction_id, currency, total in await repo.unbalanced_transactions(session)
    ]


@dataclass(frozen=True)
class AccountLimits:
    account_id: int
    credit_limit: Change[Decimal] = field(default=KEEP)
    low_balance_threshold: Change[Decimal | None] = field(default=KEEP)


async def update_limits(
    session: AsyncSession, principal: Principal, limits: AccountLimits
) -> Account:
    """Set how far below zero an account may go, and when it warns; same rule as moving money."""
    account = await _target_account(session, principal, limits.account_id)
    problems = Problems()
    if not isinstance(limits.credit_limit, Keep):
        limit = limits.credit_limit
        field = ("input", "creditLimit")
        if not (limit.is_finite() and limit >= 0):
            problems.add(ErrorCode.INVALID, "Credit limit must be zero or more.", field)
        elif check_typed_amount(problems, limit, account.currency, field, "A credit limit"):
            account.credit_limit = limit
    if not isinstance(limits.low_balance_threshold, Keep):
        threshold = limits.low_balance_threshold
        field = ("input", "lowBalanceThreshold")
        if threshold is None or check_typed_amount(
            problems, threshold, account.currency, field, "A threshold"
        ):
            account.low_balance_threshold = threshold
    problems.raise_if_any()
    await session.flush()
    return account

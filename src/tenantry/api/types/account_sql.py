"""Account in the compiled read path (see ``account.py`` for the resolver path)."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.compiler.sql import (
    Build,
    FieldSQL,
    column,
    connection,
    global_id,
    iso_datetime,
    null_if,
    on,
)
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger.models import Account, LedgerTransaction, Posting
from tenantry.ledger.service import BillingStatus
from tenantry.settings import Settings


def billing_status(account: Any) -> sa.ColumnElement[str]:
    """``ledger.service.billing_status`` in SQL; a property test holds the two equal."""
    threshold = account.low_balance_threshold
    return sa.case(
        (account.balance < -account.credit_limit, BillingStatus.BLOCKED.value),
        (
            sa.and_(threshold.is_not(None), account.balance < threshold),
            BillingStatus.LOW_BALANCE.value,
        ),
        else_=BillingStatus.ACTIVE.value,
    )


def by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], Any]
) -> sa.ColumnElement[Any]:
    """The readable account a row alias ``match``es (``repository.accounts_by_ids``)."""
    row = aliased(Account)
    return b.row_object("Account", row, fields, match(row), on(row, ledger_repo.readable(b.scope)))


def posting_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], Any]
) -> sa.ColumnElement[Any]:
    """The readable transaction (posting) a row alias ``match``es
    (``repository.postings_by_ids``)."""
    row = aliased(Posting)
    where = on(row, ledger_repo.posting_filter(b.scope))
    return b.row_object("AccountTransaction", row, fields, match(row), where)


def _money(column_name: str) -> FieldSQL:
    return FieldSQL(
        lambda b, a, f: b.object("Money", (getattr(a, column_name), a.currency), f.children)
    )


def _transactions_arguments(args: Mapping[str, Any], settings: Settings) -> Bound:
    """``AccountType.transactions``: a newest-first page, kinds (in the SQL text: a handful
    of sets are ever asked for), and a time range bound as parameters."""
    page = arguments.page_newest_first(args, settings)
    if page is None:
        return None
    kinds = args.get("kinds")
    since, until = args.get("from"), args.get("to")
    times = {"from": since, "to": until}
    if any(isinstance(t, datetime) and t.tzinfo is None for t in times.values()):
        return None  # naive times: the resolver path's driver reads them its own way
    bounds = {name: t for name, t in times.items() if t is not None}
    shape = (tuple(sorted(set(kinds))) if kinds else None, tuple(sorted(bounds)))
    return shape, {**page[1], **bounds}


def _transactions(b: Build, a: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    kinds, bounds = cast(tuple[Any, tuple[str, ...]], f.shape)
    where = ledger_repo.posting_filters(
        b.scope,
        kinds,
        b.param(f, "from") if "from" in bounds else None,
        b.param(f, "to") if "to" in bounds else None,
    )
    return connection(
        b,
        f,
        Posting,
        where,
        "AccountTransaction",
        match=lambda row: row.account_id == a.id,
        correlate=a,
        newest_first=True,
    )


ACCOUNT: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, a, f: global_id("Account", a.id)),
    "currency": column("currency"),
    "balance": _money("balance"),
    "creditLimit": _money("credit_limit"),
    "lowBalanceThreshold": FieldSQL(
        lambda b, a, f: null_if(
            a.low_balance_threshold.is_(None),
            b.object("Money", (a.low_balance_threshold, a.currency), f.children),
        )
    ),
    "billingStatus": FieldSQL(lambda b, a, f: billing_status(a)),
    "transactions": FieldSQL(_transactions, _transactions_arguments),
}


def _of_transaction(p: Any, column_name: str) -> sa.ScalarSelect[Any]:
    """A column of the posting's ledger transaction (reached through the posting only)."""
    transaction = aliased(LedgerTransaction)
    return (
        sa.select(getattr(transaction, column_name))
        .where(transaction.id == p.transaction_id)
        .correlate_except(transaction)
        .scalar_subquery()
    )


def _actor(b: Build, p: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.user_sql import user_by

    return user_by(b, f.children, lambda row: row.id == _of_transaction(p, "actor_user_id"))


def _impersonated(b: Build, p: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.tenant_sql import by as tenant_by

    return tenant_by(
        b, f.children, lambda row: row.id == _of_transaction(p, "impersonated_tenant_id")
    )


ACCOUNT_TRANSACTION: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, p, f: global_id("AccountTransaction", p.id)),
    "kind": column("kind"),
    "createdAt": FieldSQL(lambda b, p, f: iso_datetime(p.created_at)),
    "amount": FieldSQL(lambda b, p, f: b.object("Money", (p.amount, p.currency), f.children)),
    "balanceAfter": FieldSQL(
        lambda b, p, f: b.object("Money", (p.balance_after, p.currency), f.children)
    ),
    "description": FieldSQL(lambda b, p, f: _of_transaction(p, "description")),
    "reference": FieldSQL(lambda b, p, f: _of_transaction(p, "reference")),
    # Null for the system, or a user (or tenant) the caller cannot see.
    "actor": FieldSQL(_actor),
    "impersonatedTenant": FieldSQL(_impersonated),
}

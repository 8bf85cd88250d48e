"""Account in the compiled read path (see ``account.py`` for the resolver path)."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, column, global_id, null_if, on
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger.models import Account
from tenantry.ledger.service import BillingStatus


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


def _money(column_name: str) -> FieldSQL:
    return FieldSQL(
        lambda b, a, f: b.object("Money", (getattr(a, column_name), a.currency), f.children)
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
}

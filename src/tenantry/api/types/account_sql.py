"""Account in the compiled read path (see ``account.py`` for the resolver path)."""

from typing import Any

import sqlalchemy as sa

from tenantry.api.compiler.sql import FieldSQL, column, global_id, null_if
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

# The source of an Account object is an alias of this model.
MODEL = Account

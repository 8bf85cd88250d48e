"""Accounts and their transaction history."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.loaders.ledger import PostingFilters, PostingPageKey
from tenantry.api.relay import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    LastArg,
    build_connection,
    page_request,
)
from tenantry.api.types.enums import expose_enum
from tenantry.api.types.money import Money, to_money
from tenantry.ledger.models import Account, LedgerTransaction, Posting, TransactionKind
from tenantry.ledger.service import BillingStatus, billing_status

if TYPE_CHECKING:
    from tenantry.api.types.tenant import TenantType
    from tenantry.api.types.user import UserType

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]
UserRef = Annotated["UserType", strawberry.lazy("tenantry.api.types.user")]

expose_enum(
    TransactionKind,
    "What a transaction was, seen from one account.",
    {
        TransactionKind.TOP_UP: "Money paid in from outside (topUpAccount).",
        TransactionKind.DEBIT: "Money taken out by hand, with a reason (adjustAccount).",
        TransactionKind.CREDIT: "Money added by hand, with a reason (adjustAccount).",
        TransactionKind.USAGE_CHARGE: "What this account paid the level above for usage, "
        "by its tariff.",
        TransactionKind.USAGE_REVENUE: "What this account earned from the level below for usage.",
        TransactionKind.PLAN_FEE: "A partner's invoice total, taken when the invoice was issued.",
        TransactionKind.ENDPOINT_FEE: "An endpoint's monthly fee, paid to the level above.",
        TransactionKind.ENDPOINT_FEE_REVENUE: "An endpoint's monthly fee, earned from the "
        "level below.",
    },
)
expose_enum(
    BillingStatus,
    "ACTIVE; LOW_BALANCE: under the warning threshold; BLOCKED: under -credit limit.",
    {
        BillingStatus.ACTIVE: "Within the credit limit and not under the warning threshold.",
        BillingStatus.LOW_BALANCE: "Under lowBalanceThreshold, still within the credit limit.",
        BillingStatus.BLOCKED: "Balance below minus creditLimit. Usage and fees still post; "
        "a manual debit that would end past the limit is refused.",
    },
)


@strawberry.type(name="AccountTransaction", description="One movement on one account.")
class AccountTransactionType(relay.Node):
    id: relay.NodeID[int]
    kind: TransactionKind = strawberry.field(description="What it was, seen from this account.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    _row: strawberry.Private[Posting]

    @strawberry.field(description="Signed from this account's view: + credits it, - debits it.")
    def amount(self) -> Money:
        return to_money(self._row.amount, self._row.currency)

    @strawberry.field(description="This account's balance right after it.")
    def balance_after(self) -> Money:
        # Only system postings lack one, and they are never read through the API.
        assert self._row.balance_after is not None
        return to_money(self._row.balance_after, self._row.currency)

    async def _transaction(self, info: Info) -> LedgerTransaction:
        transaction: LedgerTransaction = await info.context.loaders.ledger_transaction_by_id.load(
            self._row.transaction_id
        )
        return transaction

    @strawberry.field(
        description="For people: an adjustment's reason, a top-up's reference, or what was "
        "charged; null when there is none."
    )
    async def description(self, info: Info) -> str | None:
        return (await self._transaction(info)).description

    @strawberry.field(
        description="A top-up's reference, or a PLAN_FEE's invoice number; null otherwise."
    )
    async def reference(self, info: Info) -> str | None:
        return (await self._transaction(info)).reference

    @strawberry.field(description="Who made it; null for the system, or a user you cannot see.")
    async def actor(self, info: Info) -> UserRef | None:
        from tenantry.api.types.user import to_gql_user

        transaction = await self._transaction(info)
        if transaction.actor_user_id is None:
            return None
        user = await info.context.loaders.user_by_id.load(transaction.actor_user_id)
        return None if user is None else to_gql_user(user)

    @strawberry.field(
        description="The tenant the actor was impersonating when they made it; null when "
        "none, or one you cannot see."
    )
    async def impersonated_tenant(self, info: Info) -> TenantRef | None:
        from tenantry.api.types.tenant import to_gql_tenant

        transaction = await self._transaction(info)
        if transaction.impersonated_tenant_id is None:
            return None
        tenant = await info.context.loaders.tenant_by_id.load(transaction.impersonated_tenant_id)
        return None if tenant is None else to_gql_tenant(tenant)


def to_gql_posting(row: Posting) -> AccountTransactionType:
    return AccountTransactionType(id=row.id, kind=row.kind, created_at=row.created_at, _row=row)


@strawberry.type(name="Account", description="A tenant's or customer's money, in its currency.")
class AccountType(relay.Node):
    id: relay.NodeID[int]
    currency: str = strawberry.field(
        description="ISO 4217 code; its owner's currency, and every amount on it is in it."
    )
    _row: strawberry.Private[Account]

    @strawberry.field(
        description="The sum of its transactions now; below zero when it owes (down to "
        "minus creditLimit)."
    )
    def balance(self) -> Money:
        # Only system accounts lack one, and they are never read through the API.
        assert self._row.balance is not None
        return to_money(self._row.balance, self.currency)

    @strawberry.field(description="How far below zero the balance may go before BLOCKED.")
    def credit_limit(self) -> Money:
        return to_money(self._row.credit_limit, self.currency)

    @strawberry.field(
        description="Under this balance the account is LOW_BALANCE; null: no warning."
    )
    def low_balance_threshold(self) -> Money | None:
        threshold = self._row.low_balance_threshold
        return None if threshold is None else to_money(threshold, self.currency)

    @strawberry.field(description="ACTIVE, LOW_BALANCE or BLOCKED, from the balance now.")
    def billing_status(self) -> BillingStatus:
        return billing_status(self._row)

    @strawberry.field(description="Newest first.")
    async def transactions(
        self,
        info: Info,
        *,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        kinds: Annotated[
            list[TransactionKind] | None,
            strawberry.argument(description="Only these kinds; null or left out: every kind."),
        ] = None,
        from_: Annotated[
            datetime | None,
            strawberry.argument(
                name="from", description="Only those posted at or after this instant."
            ),
        ] = None,
        to: Annotated[
            datetime | None,
            strawberry.argument(description="Only those posted before this instant."),
        ] = None,
    ) -> Connection[AccountTransactionType]:
        loaders = info.context.loaders
        request = page_request(info.context.settings, first, after, last, before)
        filters = PostingFilters(tuple(sorted(set(kinds))) if kinds else None, from_, to)
        key = PostingPageKey(self.id, request, filters)
        page = await loaders.posting_page.load(key)
        return build_connection(
            page, to_gql_posting, lambda: loaders.posting_count.load(key.count_key())
        )


def to_gql_account(row: Account) -> AccountType:
    return AccountType(id=row.id, currency=row.currency, _row=row)

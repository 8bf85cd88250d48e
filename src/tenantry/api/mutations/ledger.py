"""Money-moving mutations: top-ups and adjustments."""

from decimal import Decimal

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.account import (
    AccountTransactionType,
    AccountType,
    to_gql_account,
    to_gql_posting,
)
from tenantry.api.types.enums import expose_enum
from tenantry.core.change import KEEP
from tenantry.ledger import service
from tenantry.ledger.models import Account, Posting
from tenantry.ledger.service import AccountLimits, AdjustmentDirection

expose_enum(
    AdjustmentDirection,
    "Which way an adjustment moves money, seen from the account.",
    {
        AdjustmentDirection.DEBIT: "Takes money out; refused when it would take the account "
        "past its credit limit (INSUFFICIENT_FUNDS).",
        AdjustmentDirection.CREDIT: "Adds money.",
    },
)

AMOUNT = (
    "Greater than zero, in the account's currency: at most 10^12, with no more decimal places "
    "than the currency has."
)
IDEMPOTENCY_KEY = (
    "Up to 200 characters, yours to choose. The same key and input again returns the first "
    "result and moves nothing; the same key with other input: IDEMPOTENCY_KEY_REUSED."
)
ACCOUNT = (
    "The account of a tenant strictly below yours, or of a customer of your tenant or one below it."
)


@strawberry.input(description="Money paid in from outside, for an account below you.")
class TopUpAccountInput:
    account_id: strawberry.ID = strawberry.field(description=ACCOUNT)
    amount: Decimal = strawberry.field(description=AMOUNT)
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    reference: str | None = strawberry.field(
        default=None,
        description="Yours, e.g. a payment id; shown as the transaction's reference and "
        "description. Null or blank: none.",
    )


@strawberry.input(description="A manual debit or credit of an account below you.")
class AdjustAccountInput:
    account_id: strawberry.ID = strawberry.field(description=ACCOUNT)
    direction: AdjustmentDirection = strawberry.field(
        description="DEBIT takes money out, CREDIT adds it."
    )
    amount: Decimal = strawberry.field(description=AMOUNT)
    reason: str = strawberry.field(
        description="Why; required, and shown as the transaction's description."
    )
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.input(description="Fields left out stay as they are.")
class UpdateAccountInput:
    id: strawberry.ID = strawberry.field(description=ACCOUNT)
    credit_limit: Decimal | None = strawberry.field(
        default=None, description="How far below zero the balance may go (>= 0)."
    )
    low_balance_threshold: strawberry.Maybe[Decimal | None] = strawberry.field(
        description="Under this balance the account is LOW_BALANCE; null removes the warning."
    )


@strawberry.type(
    description="What topUpAccount, adjustAccount and updateAccount answer: the account, or "
    "why not."
)
class AccountPayload:
    account: AccountType | None = strawberry.field(
        default=None, description="The account as it is now; null when refused."
    )
    transaction: AccountTransactionType | None = strawberry.field(
        default=None,
        description="The money moved, seen from the account; null for updateAccount, or when "
        "refused.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


def _payload(result: tuple[Account, Posting]) -> AccountPayload:
    account, posting = result
    return AccountPayload(account=to_gql_account(account), transaction=to_gql_posting(posting))


@strawberry.type
class LedgerMutations:
    @strawberry.mutation(description="Add money to an account of a tenant or customer below you.")
    async def top_up_account(self, info: Info, input: Input[TopUpAccountInput]) -> AccountPayload:
        account_id = decode_id(input.account_id, "Account")
        return await mutate(
            info,
            lambda session, actor: service.top_up(
                session,
                actor,
                account_id=account_id,
                amount=input.amount,
                idempotency_key=input.idempotency_key,
                reference=input.reference,
            ),
            _payload,
            AccountPayload,
        )

    @strawberry.mutation(
        description="Set the credit limit or low-balance warning of an account below you."
    )
    async def update_account(self, info: Info, input: Input[UpdateAccountInput]) -> AccountPayload:
        threshold = input.low_balance_threshold
        limits = AccountLimits(
            decode_id(input.id, "Account"),
            credit_limit=KEEP if input.credit_limit is None else input.credit_limit,
            low_balance_threshold=KEEP if threshold is None else threshold.value,
        )
        return await mutate(
            info,
            lambda session, actor: service.update_limits(session, actor, limits),
            lambda row: AccountPayload(account=to_gql_account(row)),
            AccountPayload,
        )

    @strawberry.mutation(description="Debit or credit an account below you, with a reason.")
    async def adjust_account(self, info: Info, input: Input[AdjustAccountInput]) -> AccountPayload:
        account_id = decode_id(input.account_id, "Account")
        return await mutate(
            info,
            lambda session, actor: service.adjust(
                session,
                actor,
                account_id=account_id,
                direction=input.direction,
                amount=input.amount,
                reason=input.reason,
                idempotency_key=input.idempotency_key,
            ),
            _payload,
            AccountPayload,
        )

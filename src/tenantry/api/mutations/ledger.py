"""Money-moving mutations: top-ups and adjustments."""

from decimal import Decimal

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.account import (
    AccountTransactionType,
    AccountType,
    to_gql_account,
    to_gql_posting,
)
from tenantry.core.change import KEEP
from tenantry.ledger import service
from tenantry.ledger.models import Account, Posting
from tenantry.ledger.service import AccountLimits, AdjustmentDirection

strawberry.enum(AdjustmentDirection)


@strawberry.input
class TopUpAccountInput:
    account_id: strawberry.ID
    amount: Decimal
    idempotency_key: str = strawberry.field(
        description="The same key and input again returns the first result; nothing moves twice."
    )
    reference: str | None = None


@strawberry.input
class AdjustAccountInput:
    account_id: strawberry.ID
    direction: AdjustmentDirection
    amount: Decimal
    reason: str
    idempotency_key: str


@strawberry.input(description="Fields left out stay as they are.")
class UpdateAccountInput:
    id: strawberry.ID
    credit_limit: Decimal | None = strawberry.field(
        default=None, description="How far below zero the balance may go (>= 0)."
    )
    low_balance_threshold: strawberry.Maybe[Decimal | None] = strawberry.field(
        description="Under this balance the account is LOW_BALANCE; null removes the warning."
    )


@strawberry.type
class AccountPayload:
    account: AccountType | None = None
    transaction: AccountTransactionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _payload(result: tuple[Account, Posting]) -> AccountPayload:
    account, posting = result
    return AccountPayload(account=to_gql_account(account), transaction=to_gql_posting(posting))


@strawberry.type
class LedgerMutations:
    @strawberry.mutation(description="Add money to an account of a tenant or customer below you.")
    async def top_up_account(self, info: Info, input: TopUpAccountInput) -> AccountPayload:
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
    async def update_account(self, info: Info, input: UpdateAccountInput) -> AccountPayload:
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
    async def adjust_account(self, info: Info, input: AdjustAccountInput) -> AccountPayload:
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

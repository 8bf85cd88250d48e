"""Manual debit and credit adjustments, the credit limit, and billing status."""

from decimal import Decimal

import pytest

from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import repository as repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import LedgerTransaction, SystemPurpose, TransactionKind
from tenantry.ledger.service import AdjustmentDirection, BillingStatus, Leg
from tests.fixtures.world import World
from tests.ledger.conftest import (
    adjust,
    codes,
    new_key,
    own_account,
    posting_count,
    reload,
    set_limits,
    top_up,
)

CREDIT = AdjustmentDirection.CREDIT
DEBIT = AdjustmentDirection.DEBIT


async def test_credit_adds_with_its_reason(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    account, posting = await adjust(db, world.a1_admin, account, CREDIT, "5.25", reason=" sorry ")
    assert account.balance == Decimal("5.25")
    assert (posting.kind, posting.amount) == (TransactionKind.CREDIT, Decimal("5.25"))
    async with db.read() as session:
        transaction = await session.get_one(LedgerTransaction, posting.transaction_id)
        adjustments = await ledger.system_account(
            session,
            root_tenant_id=world.root.id,
            purpose=SystemPurpose.ADJUSTMENTS,
            currency="EUR",
        )
        adjustments_balance = await repo.posted_sum(session, adjustments.id)
    assert (transaction.kind, transaction.description) == (TransactionKind.CREDIT, "sorry")
    assert (adjustments.balance, adjustments_balance) == (None, Decimal("-5.25"))


async def test_debit_past_the_credit_limit_writes_nothing(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    await top_up(db, world.a1_admin, account, "10.00")
    with pytest.raises(DomainError) as error:
        await adjust(db, world.a1_admin, account, DEBIT, "10.01")
    assert codes(error.value) == [("amount", ErrorCode.INSUFFICIENT_FUNDS)]
    assert (await reload(db, account)).balance == Decimal("10.00")
    assert await posting_count(db, account) == 1


async def test_debit_may_use_the_credit_limit_but_not_pass_it(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    await top_up(db, world.a1_admin, account, "10.00")
    await set_limits(db, account, credit_limit=Decimal("20.00"))

    account, posting = await adjust(db, world.a1_admin, account, DEBIT, "25.00")
    assert (account.balance, posting.amount, posting.kind) == (
        Decimal("-15.00"),
        Decimal("-25.00"),
        TransactionKind.DEBIT,
    )
    with pytest.raises(DomainError) as error:
        await adjust(db, world.a1_admin, account, DEBIT, "5.01")
    assert codes(error.value) == [("amount", ErrorCode.INSUFFICIENT_FUNDS)]
    account, _ = await adjust(db, world.a1_admin, account, DEBIT, "5.00")
    assert account.balance == Decimal("-20.00")


async def test_a_refused_debit_does_not_use_up_its_key(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    key = new_key()
    with pytest.raises(DomainError):
        await adjust(db, world.a1_admin, account, DEBIT, "1.00", key=key)
    await top_up(db, world.a1_admin, account, "1.00")
    account, _ = await adjust(db, world.a1_admin, account, DEBIT, "1.00", key=key)
    assert account.balance == Decimal("0.00")


async def test_adjustment_problems_are_reported_together(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    with pytest.raises(DomainError) as error:
        await adjust(db, world.a1_admin, account, CREDIT, "0.001", reason="  ", key="")
    assert codes(error.value) == [
        ("amount", ErrorCode.INVALID),
        ("idempotencyKey", ErrorCode.INVALID),
        ("reason", ErrorCode.INVALID),
    ]


async def test_who_may_adjust(db: Database, world: World) -> None:
    cases = [
        (world.a1_admin, world.a1, ErrorCode.FORBIDDEN),
        (world.a1_viewer, world.a1x, ErrorCode.FORBIDDEN),
        (world.a2_admin, world.a1x, ErrorCode.NOT_FOUND),
    ]
    for actor, tenant, code in cases:
        account = await own_account(db, tenant)
        with pytest.raises(DomainError) as error:
            await adjust(db, actor, account, CREDIT, "1.00")
        assert [p.code for p in error.value.problems] == [code]
    account, _ = await adjust(db, world.root_admin, await own_account(db, world.a1), CREDIT, "1")
    assert account.balance == Decimal("1.00")


async def test_same_key_replays_an_adjustment_and_refuses_another(
    db: Database, world: World
) -> None:
    account = await own_account(db, world.a1x)
    key = new_key()
    _, first = await adjust(db, world.a1_admin, account, CREDIT, "3.00", key=key)
    account, again = await adjust(db, world.a1_admin, account, CREDIT, "3.00", key=key)
    assert (again.id, account.balance) == (first.id, Decimal("3.00"))
    for direction, reason in [(DEBIT, "goodwill"), (CREDIT, "other reason")]:
        with pytest.raises(DomainError) as error:
            await adjust(db, world.a1_admin, account, direction, "3.00", reason=reason, key=key)
        assert codes(error.value) == [("idempotencyKey", ErrorCode.IDEMPOTENCY_KEY_REUSED)]


async def test_billing_status_follows_the_balance(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    assert ledger.billing_status(account) is BillingStatus.ACTIVE
    await set_limits(db, account, credit_limit=Decimal("10"), low_balance_threshold=Decimal("5"))
    account = await reload(db, account)
    assert ledger.billing_status(account) is BillingStatus.LOW_BALANCE

    account, _ = await top_up(db, world.a1_admin, account, "5.00")
    assert ledger.billing_status(account) is BillingStatus.ACTIVE  # at the threshold
    account, _ = await adjust(db, world.a1_admin, account, DEBIT, "15.00")
    assert account.balance == Decimal("-10.00")
    assert ledger.billing_status(account) is BillingStatus.LOW_BALANCE  # at minus the limit

    # Usage always posts, even past the limit: the usage happened.
    parent = await own_account(db, world.a1)
    async with db.write() as session:
        await ledger.post_transfer(
            session,
            tenant_id=world.root.id,
            kind=TransactionKind.USAGE_CHARGE,
            legs=[
                Leg(account.id, Decimal("-0.000400"), TransactionKind.USAGE_CHARGE),
                Leg(parent.id, Decimal("0.000400"), TransactionKind.USAGE_REVENUE),
            ],
        )
    account = await reload(db, account)
    assert account.balance == Decimal("-10.000400")
    assert ledger.billing_status(account) is BillingStatus.BLOCKED

    with pytest.raises(DomainError):
        await adjust(db, world.a1_admin, account, DEBIT, "0.01")
    account, _ = await top_up(db, world.a1_admin, account, "20.00")
    assert ledger.billing_status(account) is BillingStatus.ACTIVE

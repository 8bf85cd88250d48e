"""Topping up an account: who may, which amounts, and what a repeated request does."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import repository as repo
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import MAX_AMOUNT, MAX_BALANCE
from tenantry.ledger.models import Account, LedgerTransaction, SystemPurpose, TransactionKind
from tests.fixtures.factories import create_tenant
from tests.fixtures.world import World
from tests.ledger.conftest import (
    codes,
    customer_account,
    new_key,
    own_account,
    posting_count,
    principal,
    reload,
    top_up,
)

INVALID_AMOUNT = [("amount", ErrorCode.INVALID)]


async def test_top_up_moves_the_balance_to_the_cent(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    await top_up(db, world.a1_admin, account, "10.01")
    account, posting = await top_up(db, world.a1_admin, account, "0.99", reference="PAY-42")

    assert account.balance == Decimal("11.00")
    assert (posting.kind, posting.amount, posting.balance_after, posting.currency) == (
        TransactionKind.TOP_UP,
        Decimal("0.99"),
        Decimal("11.00"),
        "EUR",
    )
    async with db.read() as session:
        transaction = await session.get_one(LedgerTransaction, posting.transaction_id)
        funding = await ledger.system_account(
            session, root_tenant_id=world.root.id, purpose=SystemPurpose.FUNDING, currency="EUR"
        )
        funding_balance = await repo.posted_sum(session, funding.id)
    assert (transaction.tenant_id, transaction.actor_user_id) == (
        world.a1.id,
        world.a1_admin.user.id,
    )
    assert (transaction.reference, transaction.description) == ("PAY-42", "PAY-42")
    # A system account stores no balance; its balance is the sum of its postings.
    assert (funding.balance, funding_balance) == (None, Decimal("-11.00"))


@pytest.mark.parametrize(
    ("currency", "amount", "ok"),
    [
        ("EUR", "10.005", False),
        ("EUR", "10.50", True),
        ("JPY", "10.5", False),
        ("JPY", "10.00", True),
        ("BHD", "1.0005", False),
        ("BHD", "1.005", True),
    ],
)
async def test_amount_has_at_most_the_currencys_decimal_places(
    db: Database, world: World, currency: str, amount: str, ok: bool
) -> None:
    tenant = await create_tenant(db, world.root, world.root_admin, world.a1, currency=currency)
    account = await own_account(db, tenant)
    if ok:
        account, _ = await top_up(db, world.a1_admin, account, amount)
        assert account.balance == Decimal(amount)
        return
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, account, amount)
    assert codes(error.value) == INVALID_AMOUNT
    assert f"{currency} amounts have at most" in error.value.problems[0].message


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "NaN", "Infinity"])
async def test_amount_must_be_positive_and_finite(db: Database, world: World, amount: str) -> None:
    account = await own_account(db, world.a1x)
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, account, amount)
    assert codes(error.value) == INVALID_AMOUNT
    assert await posting_count(db, account) == 0


@pytest.mark.parametrize("amount", ["1000000000000.01", "1e18", "999999999999896929.47"])
async def test_an_amount_past_its_bound_is_refused(db: Database, world: World, amount: str) -> None:
    account = await own_account(db, world.a1x)
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, account, amount)
    assert codes(error.value) == [("amount", ErrorCode.LIMIT_EXCEEDED)]
    assert await posting_count(db, account) == 0


async def test_the_largest_amount_is_accepted(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    account, _ = await top_up(db, world.a1_admin, account, "1000000000000.00")
    assert account.balance == MAX_AMOUNT


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
async def test_several_problems_are_reported_together(db: Database, world: World, key: str) -> None:
    account = await own_account(db, world.a1x)
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, account, "-1", key=key)
    assert codes(error.value) == [
        ("amount", ErrorCode.INVALID),
        ("idempotencyKey", ErrorCode.INVALID),
    ]


async def test_a_tenant_cannot_top_itself_up(db: Database, world: World) -> None:
    for actor, tenant in [(world.a1_admin, world.a1), (world.root_admin, world.root)]:
        account = await own_account(db, tenant)
        with pytest.raises(DomainError) as error:
            await top_up(db, actor, account, "10.00")
        assert codes(error.value) == [("accountId", ErrorCode.FORBIDDEN)]
        assert "top-up URL" in error.value.problems[0].message


async def test_a_viewer_cannot_top_up(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_viewer, account, "10.00")
    assert codes(error.value) == [(None, ErrorCode.FORBIDDEN)]


async def test_accounts_outside_the_scope_look_like_unknown_ids(db: Database, world: World) -> None:
    invisible = await own_account(db, world.b1)
    async with db.write() as session:
        system = await ledger.system_account(
            session, root_tenant_id=world.root.id, purpose=SystemPurpose.FUNDING, currency="EUR"
        )
    unknown = Account(id=10**9)
    errors = []
    for account_id in [invisible.id, unknown.id, system.id, None]:
        async with db.write() as session:
            with pytest.raises(DomainError) as error:
                await ledger.top_up(
                    session,
                    principal(world.a1_admin),
                    account_id=account_id,
                    amount=Decimal("10.00"),
                    idempotency_key=new_key(),
                    reference=None,
                )
        errors.append(error.value.problems)
    assert errors[0][0].code is ErrorCode.NOT_FOUND
    assert all(problems == errors[0] for problems in errors)


async def test_a_platform_admin_cannot_top_up_system_accounts(db: Database, world: World) -> None:
    async with db.write() as session:
        system = await ledger.system_account(
            session, root_tenant_id=world.root.id, purpose=SystemPurpose.FUNDING, currency="EUR"
        )
    with pytest.raises(DomainError) as error:
        await top_up(db, world.root_admin, system, "10.00")
    assert codes(error.value) == [("accountId", ErrorCode.NOT_FOUND)]


async def test_customer_accounts_are_topped_up_by_their_tenant_or_above(
    db: Database, world: World
) -> None:
    account = await customer_account(db, world.a1)
    await top_up(db, world.a1_admin, account, "1.00")
    account, _ = await top_up(db, world.root_admin, account, "2.00")
    assert account.balance == Decimal("3.00")

    with pytest.raises(DomainError) as error:
        await top_up(db, world.a2_admin, account, "1.00")
    assert codes(error.value) == [("accountId", ErrorCode.NOT_FOUND)]


async def test_same_key_and_input_returns_the_first_result(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    key = new_key()
    _, first = await top_up(db, world.a1_admin, account, "10.00", key=key, reference="r")
    await top_up(db, world.a1_admin, account, "5.00")
    # "10" is the same amount as "10.00": the digest uses the amount in currency precision.
    again, replayed = await top_up(db, world.a1_admin, account, "10", key=key, reference="r")

    assert replayed.id == first.id
    assert replayed.balance_after == Decimal("10.00")
    assert again.balance == Decimal("15.00")  # the account as it is now
    assert await posting_count(db, account) == 2


@pytest.mark.parametrize(("amount", "reference"), [("10.01", "r"), ("10.00", "other")])
async def test_same_key_with_other_input_is_refused(
    db: Database, world: World, amount: str, reference: str
) -> None:
    account = await own_account(db, world.a1x)
    key = new_key()
    await top_up(db, world.a1_admin, account, "10.00", key=key, reference="r")
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, account, amount, key=key, reference=reference)
    assert codes(error.value) == [("idempotencyKey", ErrorCode.IDEMPOTENCY_KEY_REUSED)]
    assert (await reload(db, account)).balance == Decimal("10.00")


async def test_same_key_on_another_account_is_refused(db: Database, world: World) -> None:
    key = new_key()
    await top_up(db, world.a1_admin, await own_account(db, world.a1x), "1.00", key=key)
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, await customer_account(db, world.a1), "1.00", key=key)
    assert codes(error.value) == [("idempotencyKey", ErrorCode.IDEMPOTENCY_KEY_REUSED)]


async def test_keys_belong_to_the_acting_tenant(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    key = new_key()
    await top_up(db, world.a1_admin, account, "1.00", key=key)
    account, _ = await top_up(db, world.root_admin, account, "1.00", key=key)
    assert account.balance == Decimal("2.00")
    async with db.read() as session:
        stmt = sa.select(LedgerTransaction.tenant_id).where(
            LedgerTransaction.idempotency_key == key
        )
        assert sorted((await session.scalars(stmt)).all()) == [world.root.id, world.a1.id]


async def test_no_transfer_takes_a_balance_past_its_bound(db: Database, world: World) -> None:
    rich, poor = await customer_account(db, world.a1x), await customer_account(db, world.a1x)
    charge, revenue = TransactionKind.USAGE_CHARGE, TransactionKind.USAGE_REVENUE

    async def transfer(amount: Decimal) -> None:
        async with db.write() as session:
            await ledger.post_transfer(
                session,
                tenant_id=world.root.id,
                kind=charge,
                legs=[ledger.Leg(poor.id, -amount, charge), ledger.Leg(rich.id, amount, revenue)],
            )

    await transfer(MAX_BALANCE)  # both exactly at the bound: allowed
    with pytest.raises(DomainError) as error:
        await top_up(db, world.a1_admin, rich, "0.01")
    assert codes(error.value) == [("amount", ErrorCode.LIMIT_EXCEEDED)]
    with pytest.raises(DomainError) as error:
        await transfer(Decimal("0.000001"))
    assert codes(error.value) == [("amount", ErrorCode.LIMIT_EXCEEDED)]
    assert ((await reload(db, rich)).balance, (await reload(db, poor)).balance) == (
        MAX_BALANCE,
        -MAX_BALANCE,
    )
    # Back towards zero is always possible.
    await transfer(-MAX_AMOUNT)
    await top_up(db, world.a1_admin, poor, "1000000000000")
    assert (await reload(db, poor)).balance == -MAX_BALANCE + 2 * MAX_AMOUNT

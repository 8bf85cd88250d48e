"""post_transfer as other features use it, the ledger's reads, and the invariant check."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tenantry.auth.scope import Scope
from tenantry.core.pagination import PageRequest
from tenantry.db.engine import Database
from tenantry.ledger import repository as repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import Account, OwnerKind, SystemPurpose, TransactionKind
from tenantry.ledger.service import Leg
from tests.fixtures.world import World
from tests.ledger.conftest import customer_account, own_account, top_up

CHARGE = TransactionKind.USAGE_CHARGE
REVENUE = TransactionKind.USAGE_REVENUE


async def charge(db: Database, world: World, payer: Account, payee: Account, amount: str) -> None:
    async with db.write() as session:
        await ledger.post_transfer(
            session,
            tenant_id=world.root.id,
            kind=CHARGE,
            legs=[Leg(payer.id, -Decimal(amount), CHARGE), Leg(payee.id, Decimal(amount), REVENUE)],
        )


async def test_usage_charges_keep_six_places_and_are_never_rounded(
    db: Database, world: World
) -> None:
    payer, payee = await own_account(db, world.a1x), await own_account(db, world.a1)
    for _ in range(25):
        await charge(db, world, payer, payee, "0.000400")
    async with db.read() as session:
        balances = {
            a.id: a.balance
            for a in await repo.accounts_by_ids(
                session, Scope(world.root.id, sees_all=True), [payer.id, payee.id]
            )
        }
    assert balances == {payer.id: Decimal("-0.010000"), payee.id: Decimal("0.010000")}


async def test_legs_on_one_account_apply_in_order(db: Database, world: World) -> None:
    payer, payee = await own_account(db, world.a1x), await own_account(db, world.a1)
    async with db.write() as session:
        transaction = await ledger.post_transfer(
            session,
            tenant_id=world.root.id,
            kind=CHARGE,
            legs=[
                Leg(payer.id, Decimal("-1.5"), CHARGE),
                Leg(payer.id, Decimal("-0.25"), CHARGE),
                Leg(payee.id, Decimal("1.75"), REVENUE),
            ],
        )
        pages = await repo.posting_pages(
            session,
            Scope(world.root.id, sees_all=True),
            [payer.id],
            PageRequest(10),
            None,
            None,
            None,
        )
    assert [(p.transaction_id, p.amount, p.balance_after) for p in pages[payer.id].items] == [
        (transaction.id, Decimal("-0.25"), Decimal("-1.75")),
        (transaction.id, Decimal("-1.5"), Decimal("-1.5")),
    ]


@pytest.mark.parametrize(
    "amounts",
    [[], ["-1.00", "0.99"], ["-0.0000001", "0.0000001"], ["NaN", "NaN"]],
)
async def test_malformed_legs_are_a_programming_error(
    db: Database, world: World, amounts: list[str]
) -> None:
    accounts = [await own_account(db, world.a1x), await own_account(db, world.a1)]
    with pytest.raises(ValueError, match=r"[Ll]egs"):
        async with db.write() as session:
            await ledger.post_transfer(
                session,
                tenant_id=world.root.id,
                kind=CHARGE,
                legs=[
                    Leg(a.id, Decimal(x), CHARGE) for a, x in zip(accounts, amounts, strict=False)
                ],
            )


async def test_legs_balance_per_currency(db: Database, world: World) -> None:
    eur = await own_account(db, world.a1)
    async with db.write() as session:
        sek = await ledger.open_account(
            session, tenant_id=world.a1.id, owner_kind=OwnerKind.CUSTOMER, currency="SEK"
        )
    with pytest.raises(ValueError, match="per currency"):
        async with db.write() as session:
            await ledger.post_transfer(
                session,
                tenant_id=world.root.id,
                kind=CHARGE,
                legs=[Leg(eur.id, Decimal(-1), CHARGE), Leg(sek.id, Decimal(1), REVENUE)],
            )


async def test_system_accounts_are_created_once_under_concurrency(
    db: Database, world: World
) -> None:
    async def get() -> int:
        async with db.write() as session:
            account = await ledger.system_account(
                session, root_tenant_id=world.root.id, purpose=SystemPurpose.FUNDING, currency="CHF"
            )
            return account.id

    assert len(set(await asyncio.gather(*(get() for _ in range(10))))) == 1


async def test_posting_pages_are_newest_first_filtered_and_scoped(
    db: Database, world: World
) -> None:
    mine, parent = await own_account(db, world.a1x), await own_account(db, world.a1)
    other = await customer_account(db, world.b1)
    for amount in ["1.00", "2.00", "3.00"]:
        await top_up(db, world.a1_admin, mine, amount)
    await charge(db, world, mine, parent, "0.5")
    await top_up(db, world.root_admin, other, "9.00")
    a1 = Scope(world.a1.id)
    ids = [mine.id, other.id]

    async with db.read() as session:
        first = await repo.posting_pages(session, a1, ids, PageRequest(2), None, None, None)
        after = first[mine.id].items[-1].id
        rest = await repo.posting_pages(session, a1, ids, PageRequest(2, after), None, None, None)
        top_ups = await repo.posting_counts(session, a1, ids, [TransactionKind.TOP_UP], None, None)
        now = await session.scalar(sa.select(sa.func.now()))
        assert now is not None
        future = await repo.posting_counts(session, a1, ids, None, now + timedelta(1), None)
        past = await repo.posting_counts(session, a1, ids, None, None, now + timedelta(1))
        visible = await repo.accounts_by_ids(session, a1, ids)
        own = await repo.tenant_accounts(session, a1, [world.a1.id, world.b1.id])

    assert [p.amount for p in first[mine.id].items] == [Decimal("-0.5"), Decimal("3.00")]
    assert first[mine.id].has_next
    assert [p.amount for p in rest[mine.id].items] == [Decimal("2.00"), Decimal("1.00")]
    assert not rest[mine.id].has_next
    assert first[other.id].items == rest[other.id].items == []
    assert top_ups == {mine.id: 3, other.id: 0}
    assert future == {mine.id: 0, other.id: 0}
    assert past == {mine.id: 4, other.id: 0}
    assert [a.id for a in visible] == [mine.id]
    assert [a.id for a in own] == [parent.id]


async def test_invariant_check_names_every_disagreement(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    await top_up(db, world.a1_admin, account, "10.00")
    untouched = await own_account(db, world.a1)
    # A read session ends in a rollback: the damage is seen here and never committed.
    async with db.read() as session:
        await session.execute(
            sa.update(Account)
            .where(Account.id.in_([account.id, untouched.id]))
            .values(balance=Account.balance + 1)
        )
        await session.execute(sa.text("UPDATE postings SET amount = amount * 2 WHERE id = 1"))
        found = await ledger.check_invariants(session)
    assert sorted(found) == sorted(
        [
            f"Account {account.id}: balance 11.000000, but its postings sum to 20.000000.",
            f"Account {untouched.id}: balance 1.000000, but its postings sum to 0.",
            "Transaction 1: its EUR postings sum to 10.000000, not zero.",
        ]
    )

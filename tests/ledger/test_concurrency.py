"""Money under real concurrency: separate connections, and separate OS processes."""

import asyncio
import json
import sys
from decimal import Decimal

import sqlalchemy as sa

from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import repository as repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import Posting, SystemPurpose, TransactionKind
from tenantry.ledger.service import AdjustmentDirection, Leg
from tests.fixtures.world import World
from tests.ledger.conftest import (
    adjust,
    customer_account,
    new_key,
    own_account,
    principal,
    reload,
    top_up,
)

# Runs in its own interpreter: its own engine, `count` top-ups at once, each in its own
# session. It says "ready" once imported and starts on a line from stdin, so the
# processes' top-ups overlap.
TOP_UP_WORKER = """
import asyncio, json, sys
from decimal import Decimal

from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.ledger import service

async def main(job):
    db = Database.connect(job["url"], pool_size=10, max_overflow=0)
    principal = Principal(**{**job["principal"], "role": Role(job["principal"]["role"])})

    async def one(i):
        async with db.write() as session:
            await service.top_up(
                session, principal, account_id=job["account_id"], amount=Decimal(job["amount"]),
                idempotency_key=f"{job['tag']}-{i}", reference=None,
            )

    print("ready", flush=True)
    sys.stdin.readline()
    await asyncio.gather(*(one(i) for i in range(job["count"])))
    await db.dispose()

asyncio.run(main(json.loads(sys.argv[1])))
"""


async def postings_of(db: Database, account_id: int) -> list[Posting]:
    async with db.read() as session:
        stmt = sa.select(Posting).where(Posting.account_id == account_id).order_by(Posting.id)
        return list((await session.scalars(stmt)).all())


async def test_top_ups_from_two_processes_lose_nothing(
    db: Database, database_url: str, world: World
) -> None:
    account = await own_account(db, world.a1x)
    actor = principal(world.a1_admin)
    workers = []
    for tag in ["first", "second"]:
        job = {
            "url": database_url,
            "account_id": account.id,
            "principal": {**actor.__dict__, "role": actor.role.value},
            "amount": "1.01",
            "tag": tag,
            "count": 100,
        }
        workers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                TOP_UP_WORKER,
                json.dumps(job),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    for worker in workers:
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    for worker in workers:
        _, stderr = await asyncio.wait_for(worker.communicate(), 60)
        assert worker.returncode == 0, stderr.decode()

    assert (await reload(db, account)).balance == Decimal("202.00")
    # Each top-up saw the one before it: no two read the same balance.
    balances_after = sorted(p.balance_after for p in await postings_of(db, account.id))
    assert balances_after == [Decimal("1.01") * n for n in range(1, 201)]


async def test_concurrent_debits_stop_at_the_credit_limit(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    await top_up(db, world.a1_admin, account, "10.00")

    results = await asyncio.gather(
        *(
            adjust(db, world.a1_admin, account, AdjustmentDirection.DEBIT, "1.00")
            for _ in range(50)
        ),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 40
    assert {p.code for r in refused for p in r.problems} == {ErrorCode.INSUFFICIENT_FUNDS}
    assert len([r for r in results if isinstance(r, tuple)]) == 10
    assert (await reload(db, account)).balance == Decimal("0.00")
    assert min(p.balance_after for p in await postings_of(db, account.id)) == Decimal("0.00")


async def test_one_key_from_fifty_callers_moves_money_once(db: Database, world: World) -> None:
    account = await own_account(db, world.a1x)
    key = new_key()

    results = await asyncio.gather(
        *(top_up(db, world.a1_admin, account, "7.50", key=key) for _ in range(50))
    )

    assert {posting.id for _, posting in results} == {results[0][1].id}
    assert (await reload(db, account)).balance == Decimal("7.50")
    assert len(await postings_of(db, account.id)) == 1


async def test_opposite_transfers_do_not_deadlock(db: Database, world: World) -> None:
    left, right = await own_account(db, world.a1x), await own_account(db, world.a1)
    kind = TransactionKind.USAGE_CHARGE

    async def transfer(payer: int, payee: int) -> None:
        async with db.write() as session:
            await ledger.post_transfer(
                session,
                tenant_id=world.root.id,
                kind=kind,
                legs=[Leg(payer, Decimal("-1"), kind), Leg(payee, Decimal("1"), kind)],
            )

    # Interleaved: half the transfers lock left then right, half would lock right then left.
    pairs = [(left.id, right.id), (right.id, left.id)] * 20 + [(left.id, right.id)] * 10
    await asyncio.gather(*(transfer(payer, payee) for payer, payee in pairs))
    assert (await reload(db, left)).balance - left.balance == Decimal(-10)


async def _funding_id(db: Database, world: World) -> int:
    async with db.write() as session:
        funding = await ledger.system_account(
            session, root_tenant_id=world.root.id, purpose=SystemPurpose.FUNDING, currency="EUR"
        )
    return funding.id


LOCK_FUNDING = sa.text("SELECT id FROM accounts WHERE id = :id FOR NO KEY UPDATE NOWAIT")


async def test_a_top_up_in_progress_holds_no_lock_on_the_funding_account(
    db: Database, world: World
) -> None:
    """Every top-up in a currency stands against one FUNDING account; locking it made every
    top-up in that currency wait for the one before it."""
    account = await own_account(db, world.a1x)
    funding_id = await _funding_id(db, world)
    async with db.write() as session:
        await ledger.top_up(
            session,
            principal(world.a1_admin),
            account_id=account.id,
            amount=Decimal("5.00"),
            idempotency_key=new_key(),
            reference=None,
        )
        # Uncommitted: the top-up's locks are still held. The funding row is not among them.
        async with db.write() as other:
            assert (await other.execute(LOCK_FUNDING, {"id": funding_id})).scalar() == funding_id


async def test_concurrent_top_ups_to_many_accounts_all_land_while_funding_is_held(
    db: Database, world: World
) -> None:
    accounts = [await customer_account(db, world.a1x) for _ in range(12)]
    funding_id = await _funding_id(db, world)
    async with db.write() as blocker:
        # Holds the funding row as an UPDATE of it would: a top-up that locked or updated
        # it would wait here until the guard below gives up.
        await blocker.execute(LOCK_FUNDING, {"id": funding_id})
        await asyncio.wait_for(
            asyncio.gather(
                *(top_up(db, world.a1_admin, account, "2.50") for account in accounts for _ in "ab")
            ),
            60,
        )
    assert [(await reload(db, account)).balance for account in accounts] == [Decimal("5.00")] * 12
    async with db.read() as session:
        assert await repo.posted_sum(session, funding_id) == Decimal("-60.00")

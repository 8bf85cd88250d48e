"""Moves against real concurrency on the real PostgreSQL: a move racing tenant creation under
the moved sub-tree, and two moves that would make a cycle together. Each runs in its own
transaction on its own connection, as two requests (or two processes) would."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.tenants import move, service
from tenantry.tenants.models import SubscriptionType, Tenant, TenantKind
from tenantry.tenants.service import NewSubTenant
from tests.fixtures.factories import platform_principal
from tests.fixtures.world import World

T = TypeVar("T")
BLOCKED_FOR = 0.5  # seconds a waiter is watched to be still waiting


async def held(
    db: Database, action: Callable[[AsyncSession], Awaitable[T]], release: asyncio.Event
) -> T:
    """Run ``action`` in a transaction that stays open (locks held) until ``release``."""
    async with db.write() as session:
        result = await action(session)
        await release.wait()
    return result


async def in_transaction(db: Database, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with db.write() as session:
        return await action(session)


def moving(
    principal: Principal, tenant: Tenant, new_parent: Tenant
) -> Callable[[AsyncSession], Awaitable[move.MoveOutcome]]:
    async def action(session: AsyncSession) -> move.MoveOutcome:
        request = move.MoveRequest(tenant.id, new_parent.id, dry_run=False)
        return await move.move_tenant(session, principal, request)

    return action


def creating(
    principal: Principal, parent: Tenant, moniker: str
) -> Callable[[AsyncSession], Awaitable[Tenant]]:
    async def action(session: AsyncSession) -> Tenant:
        new = NewSubTenant(parent.id, moniker, moniker, [SubscriptionType.INTEGRATED])
        return await service.create_sub_tenant(session, principal, new)

    return action


async def tree(db: Database) -> dict[int, Tenant]:
    async with db.read() as session:
        return {t.id: t for t in (await session.scalars(sa.select(Tenant))).all()}


async def assert_consistent(db: Database) -> None:
    """Every path is its parent's plus itself, every sub-tenant's scope its parent's plus
    itself: no tenant was left with a path from before a move."""
    tenants = await tree(db)
    for t in tenants.values():
        if t.parent_id is None:
            assert t.path == t.scope_path == [t.id]
            continue
        parent = tenants[t.parent_id]
        assert t.path == [*parent.path, t.id], t.moniker
        if t.kind is TenantKind.SUB_TENANT:
            assert t.scope_path == [*parent.scope_path, t.id], t.moniker


async def test_a_move_waits_for_a_creation_under_it_and_takes_the_new_tenant_along(
    db: Database, world: World
) -> None:
    principal = platform_principal(world.root, world.root_admin)
    release = asyncio.Event()
    creation = asyncio.create_task(held(db, creating(principal, world.a1x, "new"), release))
    await asyncio.sleep(BLOCKED_FOR)
    mover = asyncio.create_task(in_transaction(db, moving(principal, world.a1, world.b)))
    await asyncio.sleep(BLOCKED_FOR)
    assert not mover.done()  # waiting for the creation to commit
    release.set()
    new = await creation
    await mover
    tenants = await tree(db)
    assert tenants[new.id].path == [world.root.id, world.b.id, world.a1.id, world.a1x.id, new.id]
    await assert_consistent(db)


async def test_a_creation_under_a_moving_subtree_waits_and_takes_the_new_path(
    db: Database, world: World
) -> None:
    principal = platform_principal(world.root, world.root_admin)
    release = asyncio.Event()
    mover = asyncio.create_task(held(db, moving(principal, world.a1, world.b), release))
    await asyncio.sleep(BLOCKED_FOR)
    creation = asyncio.create_task(in_transaction(db, creating(principal, world.a1x, "new")))
    await asyncio.sleep(BLOCKED_FOR)
    assert not creation.done()  # waiting for the move to commit
    release.set()
    await mover
    new = await creation
    assert new.path == [world.root.id, world.b.id, world.a1.id, world.a1x.id, new.id]
    assert new.scope_path == new.path
    await assert_consistent(db)


async def test_moves_racing_creations_leave_every_path_right(db: Database, world: World) -> None:
    principal = platform_principal(world.root, world.root_admin)
    for round_, (tenant, new_parent) in enumerate(
        [(world.a1, world.b), (world.a1, world.b1), (world.a1x, world.a2), (world.a1, world.a)]
    ):
        jobs = [in_transaction(db, moving(principal, tenant, new_parent))] + [
            in_transaction(db, creating(principal, parent, f"r{round_}-{i}"))
            for i, parent in enumerate([world.a1, world.a1x, world.a1, world.a1x, world.b])
        ]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)]
        await assert_consistent(db)


async def outcome_code(job: Awaitable[object]) -> ErrorCode | None:
    try:
        await job
    except DomainError as error:
        (problem,) = error.problems
        return problem.code
    return None


async def test_two_moves_that_make_a_cycle_together_one_fails_with_cycle(
    db: Database, world: World
) -> None:
    principal = platform_principal(world.root, world.root_admin)
    # Alone, each is fine: a under b1, or b under a1. Together they would make a loop.
    release = asyncio.Event()
    first = asyncio.create_task(held(db, moving(principal, world.a, world.b1), release))
    await asyncio.sleep(BLOCKED_FOR)
    second = asyncio.create_task(
        outcome_code(in_transaction(db, moving(principal, world.b, world.a1)))
    )
    await asyncio.sleep(BLOCKED_FOR)
    assert not second.done()
    release.set()
    await first
    assert await second is ErrorCode.CYCLE
    await assert_consistent(db)


async def test_racing_moves_that_make_a_cycle_together_one_wins(db: Database, world: World) -> None:
    principal = platform_principal(world.root, world.root_admin)
    for _ in range(3):
        tenants = await tree(db)
        a, b = tenants[world.a.id], tenants[world.b.id]
        a1, b1 = tenants[world.a1.id], tenants[world.b1.id]
        codes = await asyncio.gather(
            outcome_code(in_transaction(db, moving(principal, a, b1))),
            outcome_code(in_transaction(db, moving(principal, b, a1))),
        )
        assert sorted(codes, key=str) == sorted([None, ErrorCode.CYCLE], key=str)
        await assert_consistent(db)
        # Put the winner back under the root for the next round.
        winner = a if codes[0] is None else b
        await in_transaction(db, moving(principal, winner, world.root))
        await assert_consistent(db)

"""All SQL about endpoint fee runs: the lock, the runs, the endpoints a period charges."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.customers.models import Endpoint
from tenantry.db.paging import any_of
from tenantry.fees.models import FeeRun
from tenantry.ledger.models import Account, OwnerKind, Posting, TransactionKind


class ChargedEndpoint(NamedTuple):
    endpoint_id: int
    created_at: datetime


async def lock_fee_runs(session: AsyncSession) -> None:
    """Serialize fee runs until the transaction ends (across processes): whether a period
    is already charged, or overlaps one, is only known once no other run is writing.

    The key is a hash of a namespaced name, so other advisory locks never collide with it."""
    key = sa.func.hashtextextended(sa.literal("endpoint-fee-runs"), 0)
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def run_for_period(session: AsyncSession, start: datetime, end: datetime) -> FeeRun | None:
    stmt = sa.select(FeeRun).where(FeeRun.period_start == start, FeeRun.period_end == end)
    return await session.scalar(stmt)


async def overlapping_run(session: AsyncSession, start: datetime, end: datetime) -> FeeRun | None:
    stmt = (
        sa.select(FeeRun)
        .where(FeeRun.period_start < end, FeeRun.period_end > start)
        .order_by(FeeRun.period_start)
        .limit(1)
    )
    return await session.scalar(stmt)


async def endpoints_existing_before(session: AsyncSession, end: datetime) -> list[ChargedEndpoint]:
    """Every endpoint created before ``end`` (endpoints are never removed), in id order.

    Unscoped: fee runs are the platform's, and charge every tenant."""
    stmt = sa.select(Endpoint.id, Endpoint.created_at).where(Endpoint.created_at < end)
    rows = await session.execute(stmt.order_by(Endpoint.id))
    return [ChargedEndpoint(*row) for row in rows.all()]


async def add_run(session: AsyncSession, run: FeeRun) -> FeeRun:
    session.add(run)
    await session.flush()
    return run


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[FeeRun]:
    stmt = sa.select(FeeRun).where(
        any_of(FeeRun.id, ids), scope.owned_by_visible_tenant(FeeRun.tenant_id)
    )
    return list((await session.scalars(stmt)).all())


async def charged_to_customers(
    session: AsyncSession, scope: Scope, run_ids: Sequence[int]
) -> dict[int, list[tuple[str, Decimal]]]:
    """Per run, what its customers paid in total, per currency (in currency order)."""
    stmt = (
        sa.select(FeeRun.id, Posting.currency, -sa.func.sum(Posting.amount))
        .join(Posting, Posting.transaction_id == FeeRun.transaction_id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            any_of(FeeRun.id, run_ids),
            scope.owned_by_visible_tenant(FeeRun.tenant_id),
            Posting.kind == TransactionKind.ENDPOINT_FEE,
            Account.owner_kind == OwnerKind.CUSTOMER,
        )
        .group_by(FeeRun.id, Posting.currency)
        .order_by(FeeRun.id, Posting.currency)
    )
    charged: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for run_id, currency, amount in (await session.execute(stmt)).all():
        charged[run_id].append((currency, amount))
    return charged

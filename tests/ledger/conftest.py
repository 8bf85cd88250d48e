"""Ledger test helpers, and the check that every ledger test leaves the books balanced."""

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import repository as repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import Account, OwnerKind, Posting
from tenantry.ledger.service import AdjustmentDirection
from tenantry.tenants.models import Tenant
from tests.fixtures.factories import Actor


@pytest.fixture(autouse=True)
def _every_test_leaves_the_ledger_balanced(ledger_stays_balanced: None) -> None:
    """See tests/fixtures/money.py."""


def principal(actor: Actor) -> Principal:
    return Principal(
        user_id=actor.user.id,
        tenant_id=actor.tenant.id,
        role=actor.user.role,
        is_platform=actor.tenant.parent_id is None,
        token_id=actor.token_id,
    )


def codes(error: DomainError) -> list[tuple[str | None, ErrorCode]]:
    return [(p.field[-1] if p.field else None, p.code) for p in error.problems]


def new_key() -> str:
    return str(uuid.uuid4())


async def own_account(db: Database, tenant: Tenant) -> Account:
    """The tenant's account, opened here if tenant creation did not open one."""
    async with db.write() as session:
        return await repo.tenant_account(session, tenant.id) or await ledger.open_account(
            session, tenant_id=tenant.id, owner_kind=OwnerKind.TENANT, currency=tenant.currency
        )


async def customer_account(db: Database, tenant: Tenant) -> Account:
    async with db.write() as session:
        return await ledger.open_account(
            session, tenant_id=tenant.id, owner_kind=OwnerKind.CUSTOMER, currency=tenant.currency
        )


async def set_limits(
    db: Database,
    account: Account,
    *,
    credit_limit: Decimal | None = None,
    low_balance_threshold: Decimal | None = None,
) -> None:
    values = {"credit_limit": credit_limit, "low_balance_threshold": low_balance_threshold}
    async with db.write() as session:
        await session.execute(
            sa.update(Account)
            .where(Account.id == account.id)
            .values({k: v for k, v in values.items() if v is not None})
        )


async def reload(db: Database, account: Account) -> Account:
    async with db.read() as session:
        return await repo.current(session, account.id)


async def posting_count(db: Database, account: Account) -> int:
    async with db.read() as session:
        stmt = sa.select(sa.func.count()).where(Posting.account_id == account.id)
        return int(await session.scalar(stmt) or 0)


async def top_up(
    db: Database,
    actor: Actor,
    account: Account,
    amount: str,
    *,
    key: str | None = None,
    reference: str | None = None,
) -> tuple[Account, Posting]:
    async with db.write() as session:
        return await ledger.top_up(
            session,
            principal(actor),
            account_id=account.id,
            amount=Decimal(amount),
            idempotency_key=new_key() if key is None else key,
            reference=reference,
        )


async def adjust(
    db: Database,
    actor: Actor,
    account: Account,
    direction: AdjustmentDirection,
    amount: str,
    *,
    reason: str = "goodwill",
    key: str | None = None,
) -> tuple[Account, Posting]:
    async with db.write() as session:
        return await ledger.adjust(
            session,
            principal(actor),
            account_id=account.id,
            direction=direction,
            amount=Decimal(amount),
            reason=reason,
            idempotency_key=new_key() if key is None else key,
        )

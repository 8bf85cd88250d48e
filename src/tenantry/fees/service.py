"""Rules for monthly endpoint fees: which periods, who pays whom, and how much.

Each endpoint that existed in the period is charged at every level of the cascade (see
usage/cascade.py): its customer pays its tenant by the customer's tariff, each tenant pays
its parent by its tenant tariff, up to the root. A level's amount is the tariff's monthly
fee per endpoint prorated by the time the endpoint existed in the period, against each
calendar month it falls in, kept like a usage charge at 6 places and rounded half-up once
per endpoint and level. A level with no tariff or no fee is free. The whole run is one
ledger transaction; the same period again returns the first run, and a period overlapping
a charged one is refused.
"""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode, Problems
from tenantry.core.periods import END_FIELD, START_FIELD, check_ended_period, span_text
from tenantry.db.engine import Database
from tenantry.fees import repository as repo
from tenantry.fees.models import FeeRun
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import MAX_CHARGE
from tenantry.ledger.models import TransactionKind
from tenantry.partners.proration import previous_month, prorated_charge
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tenants import repository as tenants_repo
from tenantry.usage.cascade import Cascade


async def charge_endpoint_fees(
    session: AsyncSession,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
) -> FeeRun:
    """A platform admin charges the endpoint fees of a period that has ended."""
    principal.require_platform_admin()
    problems = Problems()
    check_ended_period(problems, start, end, now or datetime.now(UTC), "charged")
    problems.raise_if_any()
    return await charge_period(
        session, start.astimezone(UTC), end.astimezone(UTC), actor_user_id=principal.user_id
    )


async def charge_previous_month(db: Database, at: datetime) -> FeeRun:
    """The monthly run: the calendar month before ``at``; a rerun charges nothing."""
    start, end = previous_month(at)
    async with db.write() as session:
        return await charge_period(session, start, end)


async def charge_period(
    session: AsyncSession, start: datetime, end: datetime, *, actor_user_id: int | None = None
) -> FeeRun:
    """The run for [start, end): made on the first call, returned as it is (nothing
    written) on every later one. The caller has checked who asks and the period."""
    # Concurrent runs take turns from here; a later one then finds the first one's run
    # (each statement sees what committed before it began).
    await repo.lock_fee_runs(session)
    existing = await repo.run_for_period(session, start, end)
    if existing is not None:
        return existing
    clash = await repo.overlapping_run(session, start, end)
    if clash is not None:
        raise DomainError.one(
            ErrorCode.INVALID,
            "This period overlaps the endpoint fees already charged for "
            f"{span_text(clash.period_start, clash.period_end)}.",
            START_FIELD,
        )
    root = await tenants_repo.get_root(session)
    assert root is not None, "a fee run needs the platform"
    endpoints = await repo.endpoints_existing_before(session, end)
    legs = await _legs(session, endpoints, start, end)
    transaction = None
    if legs:
        transaction = await ledger.post_transfer(
            session,
            tenant_id=root.id,
            kind=TransactionKind.ENDPOINT_FEE,
            legs=legs,
            description=f"Endpoint fees, {span_text(start, end)}",
            actor_user_id=actor_user_id,
            limit_field=END_FIELD,
        )
    run = FeeRun(
        tenant_id=root.id,
        period_start=start,
        period_end=end,
        endpoint_count=len(endpoints),
        transaction_id=None if transaction is None else transaction.id,
    )
    return await repo.add_run(session, run)


async def _legs(
    session: AsyncSession, endpoints: list[repo.ChargedEndpoint], start: datetime, end: datetime
) -> list[ledger.Leg]:
    """The run's sums per account: what each payer paid and each payee earned."""
    cascade = await Cascade.load(session, [e.endpoint_id for e in endpoints])
    # The version of each tariff in force at the start of the period.
    fees = await tariffs_repo.monthly_fees(session, cascade.tariff_ids(), start)
    sums: dict[tuple[int, TransactionKind], Decimal] = defaultdict(Decimal)
    for endpoint_id, created_at in endpoints:
        existed_from = max(start, created_at)
        for level in cascade.levels(endpoint_id):
            fee = None if level.tariff_id is None else fees.get(level.tariff_id)
            if not fee:
                continue
            amount = prorated_charge(fee, existed_from, end)
            if amount > MAX_CHARGE:
                raise DomainError.one(
                    ErrorCode.LIMIT_EXCEEDED,
                    f"This period would charge an endpoint more than {MAX_CHARGE:f} at some "
                    "level; charge a shorter period.",
                    END_FIELD,
                )
            if amount:  # as with usage, a free level moves (and locks) nothing
                sums[(level.payer_account, TransactionKind.ENDPOINT_FEE)] -= amount
                sums[(level.payee_account, TransactionKind.ENDPOINT_FEE_REVENUE)] += amount
    return [ledger.Leg(account, amount, kind) for (account, kind), amount in sorted(sums.items())]

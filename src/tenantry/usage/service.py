"""Ingesting usage and rating it at every level of the tree."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.core.errors import ErrorCode, Problems
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import TransactionKind
from tenantry.ledger.money import MAX_AMOUNT
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import TariffRate, UsageKind
from tenantry.usage import repository as repo
from tenantry.usage.models import UsageCharge, UsageRecord
from tenantry.usage.rating import CHARGE_QUANTUM, charge

MAX_BATCH = 10_000


@dataclass(frozen=True)
class NewUsageRecord:
    event_id: str
    endpoint_id: int
    kind: UsageKind
    quantity: Decimal
    occurred_at: datetime


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


def _validate(records: Sequence[NewUsageRecord], known_endpoints: set[int]) -> None:
    problems = Problems()
    if len(records) > MAX_BATCH:
        problems.add(
            ErrorCode.INVALID, f"Send at most {MAX_BATCH} records per batch.", ("input", "records")
        )
        problems.raise_if_any()
    for index, record in enumerate(records):
        field = ("input", "records", str(index))
        if not record.event_id.strip() or len(record.event_id) > 200:
            problems.add(
                ErrorCode.INVALID, "Event id must be 1-200 characters.", (*field, "eventId")
            )
        if record.endpoint_id not in known_endpoints:
            problems.add(ErrorCode.NOT_FOUND, "No such endpoint.", (*field, "endpointId"))
        q = record.quantity
        if not q.is_finite() or q < 0 or q >= MAX_AMOUNT or q.quantize(CHARGE_QUANTUM) != q:
            problems.add(
                ErrorCode.INVALID,
                "Quantity must be zero or more, with at most 6 decimal places.",
                (*field, "quantity"),
            )
        if record.occurred_at.tzinfo is None:
            problems.add(
                ErrorCode.INVALID, "Give the time with its UTC offset.", (*field, "occurredAt")
            )
    problems.raise_if_any()


async def record_usage(
    session: AsyncSession, principal: Principal, records: Sequence[NewUsageRecord]
) -> IngestResult:
    """Record a batch (all or nothing) and rate each new record at every level up the tree.

    Repeated event ids (in earlier batches or within this one) are counted as duplicates and
    charge nothing. The ledger moves the batch's sums: one transfer, all accounts locked in
    id order, so concurrent batches cannot deadlock.
    """
    principal.require_platform_admin()
    targets = await repo.rating_targets(session, list({r.endpoint_id for r in records}))
    _validate(records, set(targets))

    # First occurrence of each event id wins; sorted so that concurrent batches sharing event
    # ids take the unique-index locks in the same order.
    unique = sorted({r.event_id: r for r in reversed(records)}.values(), key=lambda r: r.event_id)
    rows = [
        UsageRecord(
            tenant_id=targets[r.endpoint_id].tenant_id,
            customer_id=targets[r.endpoint_id].customer_id,
            endpoint_id=r.endpoint_id,
            kind=r.kind,
            quantity=r.quantity,
            occurred_at=r.occurred_at,
            event_id=r.event_id,
        )
        for r in unique
    ]
    new_ids = await repo.insert_records(session, rows) if rows else {}
    accepted = [row for row in rows if row.event_id in new_ids]
    if accepted:
        await _rate(session, principal, accepted, new_ids, targets)
    return IngestResult(accepted=len(accepted), duplicates=len(records) - len(accepted))


async def _rate(
    session: AsyncSession,
    principal: Principal,
    records: list[UsageRecord],
    new_ids: dict[str, int],
    targets: dict[int, repo.RatingTarget],
) -> None:
    tenants = await repo.tenants_on_paths(session, list({r.tenant_id for r in records}))
    tenant_accounts = {
        a.tenant_id: a.id
        for a in await ledger_repo.tenant_accounts(session, Scope(0, sees_all=True), list(tenants))
    }
    tariff_ids = {t.customer_tariff_id for t in targets.values()} | {
        t.tenant_tariff_id for t in tenants.values()
    }
    rates: dict[tuple[int, UsageKind], TariffRate] = {
        (rate.tariff_id, rate.kind): rate
        for rate_list in (
            await tariffs_repo.rates_of(session, [i for i in tariff_ids if i is not None])
        ).values()
        for rate in rate_list
    }

    def rate_of(tariff_id: int | None, kind: UsageKind) -> TariffRate | None:
        return None if tariff_id is None else rates.get((tariff_id, kind))

    charges: list[UsageCharge] = []
    # account id -> (kind -> signed sum) for the batch's one ledger transfer
    legs: dict[tuple[int, TransactionKind], Decimal] = defaultdict(Decimal)
    for record in records:
        target = targets[record.endpoint_id]
        tenant = tenants[record.tenant_id]
        record_id = new_ids[record.event_id]
        # Level 0: the customer pays its tenant.
        steps: list[tuple[int | None, int | None, int, int, int | None]] = [
            (
                None,
                target.customer_id,
                target.customer_account_id,
                tenant.id,
                target.customer_tariff_id,
            )
        ]
        # Then each tenant pays its parent by its tenant tariff, up to the root.
        for payer_id in reversed(tenant.path[1:]):
            payer = tenants[payer_id]
            assert payer.parent_id is not None
            steps.append(
                (payer.id, None, tenant_accounts[payer.id], payer.parent_id, payer.tenant_tariff_id)
            )
        for level, (payer_tenant, payer_customer, payer_account, payee, tariff_id) in enumerate(
            steps
        ):
            amount = charge(record.quantity, rate_of(tariff_id, record.kind))
            if amount == 0:
                continue
            charges.append(
                UsageCharge(
                    usage_record_id=record_id,
                    level=level,
                    tenant_id=payee,
                    payer_tenant_id=payer_tenant,
                    payer_customer_id=payer_customer,
                    record_tenant_id=record.tenant_id,
                    endpoint_id=record.endpoint_id,
                    kind=record.kind,
                    occurred_at=record.occurred_at,
                    currency=tenants[payee].currency,
                    amount=amount,
                )
            )
            legs[(payer_account, TransactionKind.USAGE_CHARGE)] -= amount
            legs[(tenant_accounts[payee], TransactionKind.USAGE_REVENUE)] += amount
    await repo.insert_charges(session, charges)
    if legs:
        await ledger.post_transfer(
            session,
            tenant_id=principal.tenant_id,
            kind=TransactionKind.USAGE_CHARGE,
            legs=[
                ledger.Leg(account, amount, kind)
                for (account, kind), amount in sorted(legs.items())
            ],
            description=f"Usage: {len(records)} records",
            actor_user_id=principal.user_id,
        )

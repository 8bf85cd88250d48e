"""Ingesting usage and rating it at every level of the tree."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import ErrorCode, Field, Problems
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import (
    MAX_BALANCE,
    MAX_CHARGE,
    MAX_QUANTITY,
    check_bound,
    passes_balance_bound,
)
from tenantry.ledger.models import TransactionKind
from tenantry.ledger.money import fits_ledger
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs.models import UsageKind
from tenantry.tenants import repository as tenants_repo
from tenantry.usage import repository as repo
from tenantry.usage.cascade import Cascade, Level
from tenantry.usage.rollups import add_to_rollups

MAX_BATCH = 10_000
# The window a record's occurredAt must fall in: nothing before this instant, and nothing
# more than this margin after the server's clock (clock skew, not the future).
EARLIEST_USAGE = datetime(2000, 1, 1, tzinfo=UTC)
USAGE_FUTURE_MARGIN = timedelta(hours=1)


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


def _validate(records: Sequence[NewUsageRecord], known_endpoints: set[int], now: datetime) -> None:
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
        q, q_field = record.quantity, (*field, "quantity")
        # Bound (LIMIT_EXCEEDED) before places: quantizing an oversized decimal fails.
        if not q.is_finite() or q < 0:
            problems.add(ErrorCode.INVALID, "Quantity must be zero or more.", q_field)
        elif check_bound(problems, q, MAX_QUANTITY, q_field, "A quantity") and not fits_ledger(q):
            problems.add(ErrorCode.INVALID, "Quantity has at most 6 decimal places.", q_field)
        _check_occurred_at(problems, record.occurred_at, (*field, "occurredAt"), now)
    problems.raise_if_any()


def _check_occurred_at(problems: Problems, at: datetime, field: Field, now: datetime) -> None:
    if at.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give the time with its UTC offset.", field)
    elif not EARLIEST_USAGE <= at <= now + USAGE_FUTURE_MARGIN:
        hours = USAGE_FUTURE_MARGIN // timedelta(hours=1)
        problems.add(
            ErrorCode.INVALID,
            f"Usage must have occurred from {EARLIEST_USAGE:%Y-%m-%d} (UTC) to at most "
            f"{hours} hour(s) after the server's clock.",
            field,
        )


async def record_usage(
    session: AsyncSession,
    principal: Principal,
    records: Sequence[NewUsageRecord],
    *,
    now: datetime | None = None,
) -> IngestResult:
    """Record a batch (all or nothing) and rate each new record at every level up the tree.

    Repeated event ids (in earlier batches or within this one) are counted as duplicates and
    charge nothing. The ledger moves the batch's sums: one transfer, all accounts locked in
    id order, so concurrent batches cannot deadlock. A record whose charge at some level, or
    whose effect on some account, passes the bounds in limits.py is refused by its index.
    """
    principal.require_platform_admin()
    # Records are rated up the paths read here: no sub-tree may move until they are in.
    await tenants_repo.hold_tree_steady(session)
    targets = await repo.rating_targets(session, list({r.endpoint_id for r in records}))
    _validate(records, set(targets), now or datetime.now(UTC))

    # First occurrence of each event id wins; sorted so that concurrent batches sharing event
    # ids take the unique-index locks in the same order.
    unique = sorted({r.event_id: r for r in reversed(records)}.values(), key=lambda r: r.event_id)
    if not unique:
        return IngestResult(accepted=0, duplicates=len(records))
    rater = await _Rater.load(session, targets)
    rows = await rater.rate(session, unique)
    index = {r.event_id: i for i, r in reversed(list(enumerate(records)))}
    _refuse(
        (index[row.event_id], "quantity")
        for row in rows
        if any(amount > MAX_CHARGE for amount in row.charges)
    )
    await repo.ensure_partitions(session, (row.occurred_at for row in rows))
    new_ids = await repo.insert_records(session, rows)
    occurred = [row.occurred_at for row in rows]
    await add_to_rollups(session, list(new_ids.values()), (min(occurred), max(occurred)))
    accepted = sorted(
        (row for row in rows if row.event_id in new_ids), key=lambda row: index[row.event_id]
    )
    # The batch's new records, duplicates left out: ``new_ids`` maps their event ids to their
    # ids (``list(new_ids.values())``), ``accepted`` holds the rows, rated, in the batch's
    # order. Anything kept in step with the records in the same transaction (daily rollups)
    # goes right here.
    legs = rater.legs(accepted)
    if legs:
        locked = {
            account.id: account
            for account in await ledger_repo.lock_accounts(
                session, sorted({leg.account_id for leg in legs})
            )
        }
        balances = {account_id: account.balance for account_id, account in locked.items()}
        if not rater.within_bounds(legs, balances):
            _refuse((index[row.event_id], None) for row in rater.past_bound(accepted, balances))
        await ledger.post_transfer(
            session,
            tenant_id=principal.tenant_id,
            kind=TransactionKind.USAGE_CHARGE,
            legs=legs,
            description=f"Usage: {len(accepted)} records",
            actor_user_id=principal.user_id,
            limit_field=("input", "records"),
            locked=locked,
        )
    return IngestResult(accepted=len(accepted), duplicates=len(records) - len(accepted))


def _refuse(faults: Iterable[tuple[int, str | None]]) -> None:
    """LIMIT_EXCEEDED for each (record index, its field or None for the whole record)."""
    problems = Problems()
    for index, name in sorted(faults, key=lambda fault: fault[0]):
        field = ("input", "records", str(index))
        if name is None:
            message = f"This record would take an account's balance past {MAX_BALANCE:f}."
            problems.add(ErrorCode.LIMIT_EXCEEDED, message, field)
        else:
            message = f"This record would cost more than {MAX_CHARGE:f} at some level."
            problems.add(ErrorCode.LIMIT_EXCEEDED, message, (*field, name))
    problems.raise_if_any()


@dataclass
class _Rater:
    """Everything rating a batch needs, loaded in a few statements up front."""

    cascade: Cascade
    _levels: dict[int, list[Level]] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, targets: dict[int, repo.RatingTarget]) -> "_Rater":
        cascade = await Cascade.of(session, targets)
        # Before the versions are read: a revision being written is waited for, and none
        # starts until this batch commits, so a record sees all of a revision or none of it.
        await tariffs_repo.lock_for_rating(session, cascade.tariff_ids())
        return cls(cascade)

    def levels(self, endpoint_id: int) -> list[Level]:
        """The endpoint's levels, worked out once per batch."""
        levels = self._levels.get(endpoint_id)
        if levels is None:
            levels = self._levels[endpoint_id] = self.cascade.levels(endpoint_id)
        return levels

    async def rate(
        self, session: AsyncSession, records: Sequence[NewUsageRecord]
    ) -> list[repo.RatedRecord]:
        """The records with their charges at every level, priced in one statement."""
        tariffs = {
            endpoint_id: [level.tariff_id for level in self.levels(endpoint_id)]
            for endpoint_id in {r.endpoint_id for r in records}
        }
        charges = await repo.charges_in_force(session, records, tariffs)
        targets, tenants = self.cascade.targets, self.cascade.tenants
        rows = []
        for new, amounts in zip(records, charges, strict=True):
            target = targets[new.endpoint_id]
            rows.append(
                repo.RatedRecord(
                    tenant_id=target.tenant_id,
                    customer_id=target.customer_id,
                    endpoint_id=new.endpoint_id,
                    kind=new.kind,
                    quantity=new.quantity,
                    depth=tenants[target.tenant_id].depth,
                    charges=amounts,
                    occurred_at=new.occurred_at,
                    event_id=new.event_id,
                )
            )
        return rows

    @staticmethod
    def within_bounds(legs: list[ledger.Leg], balances: dict[int, Decimal | None]) -> bool:
        """Whether no order of the batch's charges can carry an account past MAX_BALANCE:
        a balance between its start plus everything the account pays and its start plus
        everything it earns stays there, whichever record comes first. Then the record by
        record check (``past_bound``) has nothing to find."""
        low: dict[int, Decimal] = defaultdict(Decimal)
        high: dict[int, Decimal] = defaultdict(Decimal)
        for leg in legs:
            (low if leg.amount < 0 else high)[leg.account_id] += leg.amount
        for account_id in low.keys() | high.keys():
            start = balances.get(account_id) or Decimal(0)
            for end in (start + low[account_id], start + high[account_id]):
                if passes_balance_bound(start, end) or abs(end) > MAX_BALANCE:
                    return False
        return True

    def past_bound(
        self, records: list[repo.RatedRecord], balances: dict[int, Decimal | None]
    ) -> list[repo.RatedRecord]:
        """The records, taken in order, that would carry an account past MAX_BALANCE.

        A refused record's charges are left out of the running balances, so the others are
        judged as they would be if the batch came again without it.
        """
        # Usage moves money between tenant and customer accounts only: all store a balance.
        running = {account: balance for account, balance in balances.items() if balance is not None}
        refused = []
        for record in records:
            moves: dict[int, Decimal] = defaultdict(Decimal)
            for amount, level in zip(record.charges, self.levels(record.endpoint_id), strict=True):
                if amount:  # as in legs(): a free level moves (and locks) nothing
                    moves[level.payer_account] -= amount
                    moves[level.payee_account] += amount
            after = {account: running[account] + move for account, move in moves.items()}
            if any(passes_balance_bound(running[account], after[account]) for account in after):
                refused.append(record)
            else:
                running.update(after)
        return refused

    def legs(self, records: list[repo.RatedRecord]) -> list[ledger.Leg]:
        """The batch's sums per account: what each payer paid and each payee earned."""
        sums: dict[tuple[int, TransactionKind], Decimal] = defaultdict(Decimal)
        charged, earned = TransactionKind.USAGE_CHARGE, TransactionKind.USAGE_REVENUE
        for record in records:
            for amount, level in zip(record.charges, self.levels(record.endpoint_id), strict=True):
                if amount:
                    sums[(level.payer_account, charged)] -= amount
                    sums[(level.payee_account, earned)] += amount
        return [
            ledger.Leg(account, amount, kind)
            for (account, kind), amount in sorted(sums.items())
            if amount
        ]

"""Rules for previewing a revision: what a past period's usage cost each payer of a
tariff, and what it would have cost by proposed rates. Nothing is written."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import Problems
from tenantry.core.periods import check_ended_period
from tenantry.tariffs import payers as repo
from tenantry.tariffs.models import Tariff
from tenantry.tariffs.service import NewRate, check_prices, resolve_owned

FROM_FIELD = ("input", "from")
TO_FIELD = ("input", "to")


@dataclass(frozen=True)
class PreviewRequest:
    tariff_id: int
    rates: list[NewRate]
    since: datetime
    until: datetime
    monthly_fee_per_endpoint: Decimal | None = None


@dataclass(frozen=True)
class PreviewLine:
    payer_kind: str  # payers.CUSTOMER | payers.TENANT
    payer_id: int
    current: Decimal
    proposed: Decimal


@dataclass(frozen=True)
class Preview:
    tariff: Tariff
    since: datetime
    until: datetime
    lines: list[PreviewLine]

    @property
    def current(self) -> Decimal:
        return _total(line.current for line in self.lines)

    @property
    def proposed(self) -> Decimal:
        return _total(line.proposed for line in self.lines)


# Enough digits for any sum of lines (Decimal's default 28 would round a total past 10^22).
_EXACT = Context(prec=80)


def _total(amounts: Iterable[Decimal]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        total = _EXACT.add(total, amount)
    return total


async def preview_tariff(
    session: AsyncSession, principal: Principal, request: PreviewRequest
) -> Preview:
    """Every visible payer of the tariff (customers, then sub-tenants, in id order), with
    what its usage in [since, until) cost, each record by the version in force when it
    occurred, and would have cost by the proposed rates: per record to the millionth, then
    summed, exactly as usage charges reach the ledger."""
    tariff = await resolve_owned(session, principal, request.tariff_id, ("input", "tariffId"))
    problems = Problems()
    check_prices(problems, request.rates, request.monthly_fee_per_endpoint, tariff.currency)
    check_ended_period(
        problems,
        request.since,
        request.until,
        datetime.now(UTC),
        "previewed",
        fields=(FROM_FIELD, TO_FIELD),
    )
    problems.raise_if_any()

    proposed = [
        repo.Rate.of(0, r.kind.value, r.unit_price, r.increment, r.minimum) for r in request.rates
    ]
    payers = await repo.payers(session, principal.scope, tariff.id)
    sums = {
        (s.payer_kind, s.payer_id): s
        for s in await repo.preview_sums(
            session,
            principal.scope,
            tariff.id,
            since=request.since,
            until=request.until,
            proposed=proposed,
            # No statement for a kind of payer the tariff has none of (most have one kind).
            payer_kinds=sorted({kind for kind, _ in payers}),
        )
    }
    lines = []
    for payer in payers:
        found = sums.get(payer)
        current, new = (
            (Decimal(0), Decimal(0)) if found is None else (found.current, found.proposed)
        )
        lines.append(PreviewLine(payer[0], payer[1], current, new))
    return Preview(tariff, request.since, request.until, lines)

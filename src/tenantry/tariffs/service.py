"""Rules for tariffs: creating them, and which tariff may be assigned where."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.core.errors import ErrorCode, Field, Problems, forbidden, not_found
from tenantry.ledger.limits import MAX_AMOUNT, MAX_QUANTITY, check_bound, check_typed_amount
from tenantry.ledger.money import fits_ledger
from tenantry.tariffs import payers as payers_repo
from tenantry.tariffs import repository as repo
from tenantry.tariffs.models import Tariff, TariffRate, TariffVersion, UsageKind
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants import rules as tenant_rules
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import Tenant

# Prices, increments and minimums keep the ledger's six decimal places.
RATE_SCALE = 6


@dataclass(frozen=True)
class NewRate:
    kind: UsageKind
    unit_price: Decimal
    increment: Decimal = Decimal(1)
    # In the quantity's unit, like the increment (VOICE: seconds).
    minimum: Decimal = Decimal(0)


@dataclass(frozen=True)
class NewTariff:
    owner_id: int | None
    name: str
    rates: list[NewRate]
    monthly_fee_per_endpoint: Decimal | None = None


@dataclass(frozen=True)
class Revision:
    """New prices for a tariff from ``effective_from`` on."""

    tariff_id: int
    rates: list[NewRate]
    effective_from: datetime
    monthly_fee_per_endpoint: Decimal | None = None


def _check_rate_part(
    problems: Problems,
    value: Decimal,
    field: Field,
    what: str,
    bound: Decimal,
    *,
    zero_ok: bool,
) -> None:
    """A unit price, increment or minimum: positive (or zero), within its bound, six places
    at most."""
    if not value.is_finite() or value < 0 or (value == 0 and not zero_ok):
        more = "zero or more" if zero_ok else "more than zero"
        problems.add(ErrorCode.INVALID, f"{what} must be {more}.", field)
    elif check_bound(problems, value, bound, field, what) and not fits_ledger(value):
        problems.add(
            ErrorCode.INVALID, f"{what} must have at most {RATE_SCALE} decimal places.", field
        )


async def create_tariff(session: AsyncSession, principal: Principal, new: NewTariff) -> Tariff:
    owner = (
        None
        if new.owner_id is None
        else await tenants_repo.get(session, principal.scope, new.owner_id)
    )
    if owner is None:
        raise tenant_not_found(("input", "ownerId"))
    principal.require_admin()

    problems = Problems()
    name = tenant_rules.check_name(problems, ("input", "name"), new.name)
    check_prices(problems, new.rates, new.monthly_fee_per_endpoint, owner.currency)
    problems.raise_if_any()

    tariff = Tariff(tenant_id=owner.id, name=name, currency=owner.currency)
    return await repo.add(
        session, tariff, _version(tariff.tenant_id, new, principal), _rates(owner.id, new.rates)
    )


def check_prices(
    problems: Problems, rates: list[NewRate], fee: Decimal | None, currency: str
) -> None:
    """Rates (each kind once, parts within bounds) and a monthly fee in the currency."""
    seen: set[UsageKind] = set()
    for index, rate in enumerate(rates):
        field = ("input", "rates", str(index))
        if rate.kind in seen:
            problems.add(ErrorCode.INVALID, f"{rate.kind.value} is priced twice.", (*field, "kind"))
        seen.add(rate.kind)
        _check_rate_part(
            problems, rate.unit_price, (*field, "unitPrice"), "Unit price", MAX_AMOUNT, zero_ok=True
        )
        _check_rate_part(
            problems,
            rate.increment,
            (*field, "increment"),
            "Increment",
            MAX_QUANTITY,
            zero_ok=False,
        )
        _check_rate_part(
            problems, rate.minimum, (*field, "minimum"), "Minimum", MAX_QUANTITY, zero_ok=True
        )
    fee_field = ("input", "monthlyFeePerEndpoint")
    if fee is not None:
        if not (fee.is_finite() and fee >= 0):
            problems.add(ErrorCode.INVALID, "Monthly fee must be zero or more.", fee_field)
        else:
            check_typed_amount(problems, fee, currency, fee_field, "A monthly fee")


def _version(tenant_id: int, prices: NewTariff | Revision, principal: Principal) -> TariffVersion:
    return TariffVersion(
        tenant_id=tenant_id,
        monthly_fee_per_endpoint=prices.monthly_fee_per_endpoint,
        actor_user_id=principal.user_id,
    )


def _rates(tenant_id: int, rates: list[NewRate]) -> list[TariffRate]:
    return [
        TariffRate(
            tenant_id=tenant_id,
            kind=r.kind,
            unit_price=r.unit_price,
            increment=r.increment,
            minimum=r.minimum,
        )
        for r in rates
    ]


async def resolve_owned(
    session: AsyncSession, principal: Principal, tariff_id: int, field: Field
) -> Tariff:
    """A tariff the caller's tenant (or one below it) owns, for its admins to change or
    preview: NOT_FOUND for one it cannot see, FORBIDDEN for one it may only read."""
    tariff = await resolve_assignable(session, principal.scope, tariff_id, field)
    principal.require_admin()
    return tariff


async def resolve_assignable(
    session: AsyncSession, scope: Scope, tariff_id: int | None, field: Field
) -> Tariff:
    """A tariff a tenant in the caller's scope owns; NOT_FOUND (same as a bad id) for one
    it cannot see, FORBIDDEN for one it may only read (one it or its customers pay)."""
    if tariff_id is None:
        raise not_found(field, "tariff")
    tariff = await repo.get_owned(session, scope, tariff_id)
    if tariff is None:
        if await repo.get(session, scope, tariff_id) is None:
            raise not_found(field, "tariff")
        raise forbidden(
            "This tariff belongs to a tenant above: it can be read, not assigned.", field
        )
    return tariff


def check_tenant_tariff(
    problems: Problems, field: Field, tariff: Tariff, parent: Tenant, currency: str
) -> None:
    """What a parent charges a sub-tenant: the parent's own tariff, in the sub-tenant's currency."""
    if tariff.tenant_id != parent.id:
        problems.add(
            ErrorCode.INVALID, "A tenant tariff must be owned by the parent tenant.", field
        )
    elif tariff.currency != currency:
        problems.add(
            ErrorCode.CURRENCY_MISMATCH,
            f"The tariff is priced in {tariff.currency}; the tenant pays in {currency}.",
            field,
        )


def check_customer_tariff(
    problems: Problems, field: Field, tariff: Tariff, tenant_path: list[int], currency: str
) -> None:
    """A customer's (or default) tariff: owned by the tenant or an ancestor, in its currency."""
    if tariff.tenant_id not in tenant_path:
        problems.add(
            ErrorCode.INVALID,
            "A customer tariff must be owned by the tenant or one of its ancestors.",
            field,
        )
    elif tariff.currency != currency:
        problems.add(
            ErrorCode.CURRENCY_MISMATCH,
            f"The tariff is priced in {tariff.currency}; customers here pay in {currency}.",
            field,
        )


# A revision may take effect "now" as the client saw it: up to this long before the server's
# clock (a request's time in flight), never earlier.
REVISION_GRACE = timedelta(seconds=1)
EFFECTIVE_FIELD = ("input", "effectiveFrom")


async def revise_tariff(session: AsyncSession, principal: Principal, revision: Revision) -> Tariff:
    """A new version of the tariff, in force from ``effective_from`` (now or later) until
    the next version; usage that occurred before it keeps the version it was rated by."""
    tariff = await resolve_owned(session, principal, revision.tariff_id, ("input", "tariffId"))
    problems = Problems()
    check_prices(problems, revision.rates, revision.monthly_fee_per_endpoint, tariff.currency)
    at = revision.effective_from
    if at.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give the time with its UTC offset.", EFFECTIVE_FIELD)
    problems.raise_if_any()

    # Batches being rated by this tariff finish first, and none starts until this commits
    # (repository: lock_for_rating), so no record is rated half by the old prices.
    await repo.lock_for_revision(session, tariff.id)
    if at < datetime.now(UTC) - REVISION_GRACE:
        problems.add(
            ErrorCode.INVALID,
            "A revision takes effect now or later, not in the past.",
            EFFECTIVE_FIELD,
        )
    elif await repo.version_at(session, tariff.id, at) is not None:
        problems.add(ErrorCode.INVALID, "A version already takes effect then.", EFFECTIVE_FIELD)
    elif await payers_repo.any_usage_since(session, tariff.id, at):
        problems.add(
            ErrorCode.INVALID,
            "Usage by this tariff from that instant on has already been rated (it arrived "
            "ahead of the server's clock); choose a later instant.",
            EFFECTIVE_FIELD,
        )
    problems.raise_if_any()
    version = _version(tariff.tenant_id, revision, principal)
    version.tariff_id = tariff.id
    version.effective_from = at
    await repo.add_version(session, version, _rates(tariff.tenant_id, revision.rates))
    return tariff

"""Rules for tariffs: creating them, and which tariff may be assigned where."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.core.errors import ErrorCode, Field, Problems, forbidden, not_found
from tenantry.ledger.limits import MAX_AMOUNT, MAX_QUANTITY, check_bound, check_typed_amount
from tenantry.ledger.money import fits_ledger
from tenantry.tariffs import repository as repo
from tenantry.tariffs.models import Tariff, TariffRate, UsageKind
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
    seen: set[UsageKind] = set()
    for index, rate in enumerate(new.rates):
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
    fee = new.monthly_fee_per_endpoint
    fee_field = ("input", "monthlyFeePerEndpoint")
    if fee is not None:
        if not (fee.is_finite() and fee >= 0):
            problems.add(ErrorCode.INVALID, "Monthly fee must be zero or more.", fee_field)
        else:
            check_typed_amount(problems, fee, owner.currency, fee_field, "A monthly fee")
    problems.raise_if_any()

    tariff = Tariff(
        tenant_id=owner.id, name=name, currency=owner.currency, monthly_fee_per_endpoint=fee
    )
    rates = [
        TariffRate(
            tenant_id=owner.id,
            kind=r.kind,
            unit_price=r.unit_price,
            increment=r.increment,
            minimum=r.minimum,
        )
        for r in new.rates
    ]
    return await repo.add(session, tariff, rates)


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

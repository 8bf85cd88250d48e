"""Rules for partners: the partner flag, billing entities, plan catalogs, managed tenants."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode, Field, Problems, forbidden, not_found
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import check_typed_amount
from tenantry.ledger.models import OwnerKind
from tenantry.partners import repository as repo
from tenantry.partners.errors import not_partner
from tenantry.partners.models import BillingEntity, Plan, PlanKind, PlanPeriod
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants import rules
from tenantry.tenants.errors import moniker_taken, tenant_not_found
from tenantry.tenants.models import SubscriptionType, Tenant, TenantKind

# A billing entity's code prefixes its invoice numbers ("PLT-2026-000042").
CODE_RE = re.compile(r"[A-Z0-9]{2,10}")
CODE_FIELD = ("input", "code")
ENTITY_FIELD = ("input", "billingEntityId")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def create_billing_entity(
    session: AsyncSession, principal: Principal, name: str, country: str, code: str | None
) -> BillingEntity:
    """A platform admin adds an entity; without a code, one is made from its name."""
    principal.require_platform_admin()
    problems = Problems()
    cleaned = rules.check_name(problems, ("input", "name"), name)
    rules.check_country(problems, ("input", "country"), country)
    if cleaned and await repo.billing_entity_name_taken(session, cleaned):
        problems.add(ErrorCode.TAKEN, "A billing entity with this name exists.", ("input", "name"))
    if code is not None:
        if not CODE_RE.fullmatch(code):
            problems.add(
                ErrorCode.INVALID, "Code must be 2-10 uppercase letters or digits.", CODE_FIELD
            )
        elif code in await repo.billing_entity_codes_like(session, code):
            problems.add(ErrorCode.TAKEN, "A billing entity with this code exists.", CODE_FIELD)
    problems.raise_if_any()
    if code is None:
        code = await _default_code(session, cleaned)
    entity = BillingEntity(tenant_id=principal.tenant_id, name=cleaned, country=country, code=code)
    try:
        await repo.add(session, entity)
    except IntegrityError as exc:  # a concurrent request took the name or code first
        for constraint, field in (
            ("uq_billing_entities_code", CODE_FIELD),
            ("uq_billing_entities_name", ("input", "name")),
        ):
            if constraint in str(exc.orig):
                raise DomainError.one(ErrorCode.TAKEN, "Taken a moment ago.", field) from exc
        raise
    return entity


async def _default_code(session: AsyncSession, name: str) -> str:
    """The name's first three letters or digits, upper case ("Phystack Ltd" -> "PHY"), with
    2, 3, ... appended while taken; "BE" when the name has fewer than two."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub("[^A-Z0-9]", "", ascii_name.upper())[:3]
    if not CODE_RE.fullmatch(base):
        base = "BE"
    taken = await repo.billing_entity_codes_like(session, base)
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}{n}"
    return code


async def set_partner(
    session: AsyncSession,
    principal: Principal,
    tenant_id: int,
    is_partner: bool,
    billing_entity_id: int | None,
) -> Tenant:
    tenant = await tenants_repo.get(session, principal.scope, tenant_id, for_update=True)
    if tenant is None:
        raise tenant_not_found(("input", "tenantId"))
    principal.require_platform_admin()
    if is_partner and tenant.kind is TenantKind.MANAGED:
        raise DomainError.one(
            ErrorCode.INVALID, "A managed tenant can never be a partner.", ("input", "tenantId")
        )
    if (
        not is_partner
        and tenant.is_partner
        and await tenants_repo.managed_counts(session, principal.scope, [tenant.id])
        != {tenant.id: 0}
    ):
        raise DomainError.one(
            ErrorCode.INVALID, "This partner still has managed tenants.", ("input", "isPartner")
        )
    if is_partner and billing_entity_id is None and tenant.billing_entity_id is None:
        # A partner is invoiced from its first managed tenant on, and an invoice needs its
        # issuer: the flag never goes on without one.
        raise DomainError.one(
            ErrorCode.INVALID,
            "A partner needs the billing entity issuing its invoices.",
            ENTITY_FIELD,
        )
    tenant.is_partner = is_partner
    if billing_entity_id is not None:
        await _set_billing_entity(session, tenant, billing_entity_id, ENTITY_FIELD)
    await session.flush()
    return tenant


async def _set_billing_entity(
    session: AsyncSession, partner: Tenant, entity_id: int, field: Field
) -> None:
    if not await repo.billing_entities_by_ids(session, [entity_id]):
        raise not_found(field, "billing entity")
    partner.billing_entity_id = entity_id
    # Managed tenants carry a copy of their partner's entity: keep the copies true.
    await tenants_repo.set_managed_billing_entity(session, partner.id, entity_id)


async def change_billing_entity(
    session: AsyncSession, principal: Principal, tenant: Tenant, entity_id: int | None
) -> None:
    """``updateTenant(billingEntityId)``: platform admins, never on a managed tenant, and
    never to none on a partner (its invoices need an issuer)."""
    field = ENTITY_FIELD
    if tenant.kind is TenantKind.MANAGED:
        raise DomainError.one(
            ErrorCode.LOCKED, "A managed tenant's billing entity is its partner's.", field
        )
    if not principal.is_platform:
        raise forbidden("Only platform admins assign billing entities.", field)
    if entity_id is None and tenant.is_partner:
        raise DomainError.one(
            ErrorCode.INVALID, "A partner needs the billing entity issuing its invoices.", field
        )
    if entity_id is None:
        tenant.billing_entity_id = None
        await tenants_repo.set_managed_billing_entity(session, tenant.id, None)
    else:
        await _set_billing_entity(session, tenant, entity_id, field)


async def _partner(
    session: AsyncSession, principal: Principal, partner_id: int, field: Field
) -> Tenant:
    partner = await tenants_repo.get(session, principal.scope, partner_id)
    if partner is None:
        raise tenant_not_found(field)
    principal.require_admin()
    if not partner.is_partner:
        raise not_partner(field)
    return partner


@dataclass(frozen=True)
class NewPlan:
    partner_id: int
    kind: PlanKind
    name: str
    monthly_price: Decimal


async def create_plan(session: AsyncSession, principal: Principal, new: NewPlan) -> Plan:
    partner = await _partner(session, principal, new.partner_id, ("input", "partnerId"))
    principal.require_platform_admin()
    problems = Problems()
    name = rules.check_name(problems, ("input", "name"), new.name)
    price = new.monthly_price
    field = ("input", "monthlyPrice")
    if not (price.is_finite() and price >= 0):
        problems.add(ErrorCode.INVALID, "Monthly price must be zero or more.", field)
    else:
        check_typed_amount(problems, price, partner.currency, field, "A monthly price")
    problems.raise_if_any()
    plan = Plan(
        tenant_id=partner.id,
        kind=new.kind,
        name=name,
        monthly_price=price,
        currency=partner.currency,
    )
    await repo.add(session, plan)
    return plan


async def _catalog_plan(
    session: AsyncSession,
    problems: Problems,
    partner: Tenant,
    *,
    plan_id: int,
    kind: PlanKind,
    field: Field,
) -> Plan | None:
    plan = await repo.plan_unscoped(session, plan_id)
    if plan is None or plan.tenant_id != partner.id or plan.kind is not kind:
        problems.add(
            ErrorCode.INVALID, f"Choose a {kind.value} plan from the partner's catalog.", field
        )
        return None
    return plan


@dataclass(frozen=True)
class NewManagedTenant:
    partner_id: int
    display_name: str
    moniker: str
    country: str
    tenant_plan_id: int
    support_plan_id: int


async def create_managed_tenant(
    session: AsyncSession, principal: Principal, new: NewManagedTenant
) -> Tenant:
    await tenants_repo.hold_tree_steady(session)  # the new path is the partner's
    partner = await _partner(session, principal, new.partner_id, ("input", "partnerId"))
    if partner.kind is TenantKind.MANAGED:  # cannot happen while the flag is refused, but cheap
        raise not_partner(("input", "partnerId"))
    problems = Problems()
    name = rules.check_name(problems, ("input", "displayName"), new.display_name)
    if rules.check_moniker(
        problems, ("input", "moniker"), new.moniker
    ) and await tenants_repo.moniker_taken(session, new.moniker):
        problems.items.extend(moniker_taken(("input", "moniker")).problems)
    rules.check_country(problems, ("input", "country"), new.country)
    plans = [
        await _catalog_plan(
            session,
            problems,
            partner,
            plan_id=new.tenant_plan_id,
            kind=PlanKind.TENANT,
            field=("input", "tenantPlanId"),
        ),
        await _catalog_plan(
            session,
            problems,
            partner,
            plan_id=new.support_plan_id,
            kind=PlanKind.SUPPORT,
            field=("input", "supportPlanId"),
        ),
    ]
    problems.raise_if_any()

    tenant_id = await tenants_repo.next_id(session)
    managed = Tenant(
        id=tenant_id,
        parent_id=partner.id,
        kind=TenantKind.MANAGED,
        name=name,
        moniker=new.moniker,
        path=[*partner.path, tenant_id],
        # A managed tenant is a workspace of its own: its partner is not in its scope.
        scope_path=[tenant_id],
        subscription_types=[SubscriptionType.INTEGRATED.value],
        currency=partner.currency,
        billing_entity_id=partner.billing_entity_id,
        country=new.country,
    )
    try:
        await tenants_repo.add(session, managed)
    except IntegrityError as exc:
        if "uq_tenants_moniker" in str(exc.orig):
            raise moniker_taken(("input", "moniker")) from exc
        raise
    await ledger.open_account(
        session, tenant_id=managed.id, owner_kind=OwnerKind.TENANT, currency=managed.currency
    )
    # Billed from this second on.
    for plan in plans:
        assert plan is not None
        await repo.add(
            session,
            PlanPeriod(
                tenant_id=partner.id,
                managed_tenant_id=managed.id,
                plan_id=plan.id,
                kind=plan.kind,
                started_at=managed.created_at,
            ),
        )
    return managed


async def change_plans(
    session: AsyncSession,
    principal: Principal,
    problems: Problems,
    managed: Tenant,
    plan_ids: dict[PlanKind, int],
) -> None:
    """Switch a managed tenant's plans from this second on (the partner's admins only)."""
    if not plan_ids:
        return
    field = ("input", "tenantPlanId" if PlanKind.TENANT in plan_ids else "supportPlanId")
    if managed.kind is not TenantKind.MANAGED or managed.parent_id is None:
        problems.add(ErrorCode.INVALID, "Only managed tenants have plans.", field)
        return
    if not (principal.is_platform or principal.tenant_id == managed.parent_id):
        problems.add(ErrorCode.FORBIDDEN, "Plans are chosen by the partner.", field)
        return
    partner = await tenants_repo.get_unscoped(session, managed.parent_id)
    now = utcnow()
    for kind, plan_id in plan_ids.items():
        kind_field = ("input", "tenantPlanId" if kind is PlanKind.TENANT else "supportPlanId")
        plan = await _catalog_plan(
            session, problems, partner, plan_id=plan_id, kind=kind, field=kind_field
        )
        if plan is None or problems.items:
            continue
        await repo.close_period(session, managed.id, kind, now)
        await repo.add(
            session,
            PlanPeriod(
                tenant_id=partner.id,
                managed_tenant_id=managed.id,
                plan_id=plan.id,
                kind=kind,
                started_at=now,
            ),
        )


async def set_partner_access(
    session: AsyncSession, principal: Principal, managed: Tenant, on: bool
) -> None:
    """A managed tenant lets its partner into its workspace (or shuts it out again)."""
    if managed.kind is not TenantKind.MANAGED or managed.parent_id is None:
        raise DomainError.one(
            ErrorCode.INVALID,
            "Only managed tenants have partner access.",
            ("input", "partnerAccess"),
        )
    if not principal.scope.sees_workspace_of(managed) or principal.tenant_id == managed.parent_id:
        raise forbidden(
            "Partner access is the managed tenant's own choice.", ("input", "partnerAccess")
        )
    managed.partner_access = on
    await session.flush()
    await tenants_repo.set_scope_member(session, managed.id, managed.parent_id, member=on)
    await session.refresh(managed)

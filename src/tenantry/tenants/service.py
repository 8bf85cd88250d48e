"""Rules for the tenant tree: creating, editing and reading tenants within a scope."""

import secrets
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.core.change import KEEP, Change, Keep
from tenantry.core.errors import ErrorCode, Problems, forbidden
from tenantry.ledger import service as ledger
from tenantry.ledger.models import OwnerKind
from tenantry.partners import service as partners
from tenantry.partners.errors import locked
from tenantry.partners.models import PlanKind
from tenantry.tariffs import service as tariffs
from tenantry.tenants import repository as repo
from tenantry.tenants import rules
from tenantry.tenants.errors import moniker_taken, tenant_not_found
from tenantry.tenants.models import SubscriptionType, Tenant, TenantKind

MONIKER_UNIQUE = "uq_tenants_moniker"


@dataclass(frozen=True)
class NewSubTenant:
    parent_id: int | None
    name: str
    moniker: str
    subscription_types: list[SubscriptionType]
    inherit_sponsor_operators: bool = False
    customer_top_up_url: str | None = None
    currency: str | None = None
    tenant_tariff_id: int | None = None
    default_customer_tariff_id: int | None = None


@dataclass(frozen=True)
class TenantChanges:
    tenant_id: int | None
    name: str | None = None
    moniker: str | None = None
    subscription_types: list[SubscriptionType] | None = None
    inherit_sponsor_operators: bool | None = None
    customer_top_up_url: Change[str | None] = field(default=KEEP)
    partner_access: bool | None = None
    tenant_tariff_id: Change[int | None] = field(default=KEEP)
    default_customer_tariff_id: Change[int | None] = field(default=KEEP)
    country: str | None = None
    currency: str | None = None
    billing_entity_id: Change[int | None] = field(default=KEEP)
    tenant_plan_id: int | None = None
    support_plan_id: int | None = None

    def touches_workspace(self) -> bool:
        """Whether anything beyond a managed tenant's billing face would change."""
        billing_face = {"tenant_id", "name", "country", "tenant_plan_id", "support_plan_id"}
        return any(
            value is not None and not isinstance(value, Keep)
            for name, value in vars(self).items()
            if name not in billing_face
        )


async def _require_visible(
    session: AsyncSession,
    scope: Scope,
    tenant_id: int | None,
    field_name: str,
    *,
    for_update: bool = False,
) -> Tenant:
    tenant = (
        None
        if tenant_id is None
        else await repo.get(session, scope, tenant_id, for_update=for_update)
    )
    if tenant is None:
        raise tenant_not_found(("input", field_name))
    return tenant


async def _check_moniker(
    session: AsyncSession, problems: Problems, moniker: str, *, exclude_id: int | None = None
) -> None:
    field_path = ("input", "moniker")
    if rules.check_moniker(problems, field_path, moniker) and await repo.moniker_taken(
        session, moniker, exclude_id=exclude_id
    ):
        problems.items.extend(moniker_taken(field_path).problems)


async def _flush_unique(session: AsyncSession, tenant: Tenant) -> Tenant:
    """Insert or update, turning a lost race on the moniker into TAKEN."""
    try:
        return await repo.add(session, tenant)
    except IntegrityError as exc:
        if MONIKER_UNIQUE in str(exc.orig):
            raise moniker_taken(("input", "moniker")) from exc
        raise


async def create_sub_tenant(
    session: AsyncSession, principal: Principal, new: NewSubTenant
) -> Tenant:
    # The new path is the parent's: no move may rewrite it before this commits.
    await repo.hold_tree_steady(session)
    parent = await _require_visible(session, principal.scope, new.parent_id, "parentId")
    principal.require_admin()

    problems = Problems()
    name = rules.check_name(problems, ("input", "name"), new.name)
    await _check_moniker(session, problems, new.moniker)
    types = rules.check_subscription_types(
        problems, ("input", "subscriptionTypes"), new.subscription_types
    )
    if new.currency is not None:
        rules.check_currency(problems, ("input", "currency"), new.currency)
    if new.customer_top_up_url is not None:
        # A new tenant has no top-up secret yet: it cannot sign links.
        rules.check_top_up_url(
            problems, ("input", "customerTopUpUrl"), new.customer_top_up_url, has_secret=False
        )
    currency = new.currency or parent.currency
    tenant_id = await repo.next_id(session)
    path = [*parent.path, tenant_id]
    tenant_tariff = await _tenant_tariff(
        session,
        principal,
        problems=problems,
        tariff_id=new.tenant_tariff_id,
        parent=parent,
        currency=currency,
    )
    default_tariff = await _default_tariff(
        session,
        principal,
        problems=problems,
        tariff_id=new.default_customer_tariff_id,
        path=path,
        currency=currency,
    )
    problems.raise_if_any()

    tenant = Tenant(
        id=tenant_id,
        parent_id=parent.id,
        kind=TenantKind.SUB_TENANT,
        name=name,
        moniker=new.moniker,
        path=path,
        scope_path=[*parent.scope_path, tenant_id],
        subscription_types=types,
        inherit_sponsor_operators=new.inherit_sponsor_operators,
        customer_top_up_url=new.customer_top_up_url or None,
        currency=currency,
        country=parent.country,
        tenant_tariff_id=tenant_tariff,
        default_customer_tariff_id=default_tariff,
    )
    await _flush_unique(session, tenant)
    await ledger.open_account(
        session, tenant_id=tenant.id, owner_kind=OwnerKind.TENANT, currency=currency
    )
    return tenant


async def _tenant_tariff(
    session: AsyncSession,
    principal: Principal,
    *,
    problems: Problems,
    tariff_id: int | None,
    parent: Tenant | None,
    currency: str,
) -> int | None:
    """Check a tenant tariff (set by someone above the tenant); its id, or None for free."""
    if tariff_id is None:
        return None
    field_path = ("input", "tenantTariffId")
    tariff = await tariffs.resolve_assignable(session, principal.scope, tariff_id, field_path)
    if parent is None:
        problems.add(ErrorCode.INVALID, "The platform tenant pays no one.", field_path)
    else:
        tariffs.check_tenant_tariff(problems, field_path, tariff, parent, currency)
    return tariff.id


async def _default_tariff(
    session: AsyncSession,
    principal: Principal,
    *,
    problems: Problems,
    tariff_id: int | None,
    path: list[int],
    currency: str,
) -> int | None:
    if tariff_id is None:
        return None
    field_path = ("input", "defaultCustomerTariffId")
    tariff = await tariffs.resolve_assignable(session, principal.scope, tariff_id, field_path)
    tariffs.check_customer_tariff(problems, field_path, tariff, path, currency)
    return tariff.id


async def update_tenant(
    session: AsyncSession, principal: Principal, changes: TenantChanges
) -> Tenant:
    # Tariffs are checked against the parent, partner access rewrites scopes: no move now.
    await repo.hold_tree_steady(session)
    tenant = (
        None
        if changes.tenant_id is None
        else await repo.get_billing_face(
            session, principal.scope, changes.tenant_id, for_update=True
        )
    )
    if tenant is None:
        raise tenant_not_found(("input", "id"))
    principal.require_admin()
    if not principal.scope.sees_workspace_of(tenant) and changes.touches_workspace():
        raise forbidden(
            "Without partner access, a partner may change only a managed tenant's name, "
            "country and plans."
        )
    if changes.currency is not None:
        raise locked(
            ("input", "currency"),
            "A managed tenant's currency is its partner's."
            if tenant.kind is TenantKind.MANAGED
            else "A tenant's currency is fixed: its account is kept in it.",
        )
    if not isinstance(changes.billing_entity_id, Keep):
        await partners.change_billing_entity(session, principal, tenant, changes.billing_entity_id)

    problems = Problems()
    if changes.country is not None:
        rules.check_country(problems, ("input", "country"), changes.country)
        tenant.country = changes.country
    plans = {
        kind: plan_id
        for kind, plan_id in (
            (PlanKind.TENANT, changes.tenant_plan_id),
            (PlanKind.SUPPORT, changes.support_plan_id),
        )
        if plan_id is not None
    }
    await partners.change_plans(session, principal, problems, tenant, plans)
    if changes.name is not None:
        tenant.name = rules.check_name(problems, ("input", "name"), changes.name)
    if changes.moniker is not None and changes.moniker != tenant.moniker:
        await _check_moniker(session, problems, changes.moniker, exclude_id=tenant.id)
        tenant.moniker = changes.moniker
    if changes.subscription_types is not None:
        tenant.subscription_types = rules.check_subscription_types(
            problems, ("input", "subscriptionTypes"), changes.subscription_types
        )
    if changes.inherit_sponsor_operators is not None:
        tenant.inherit_sponsor_operators = changes.inherit_sponsor_operators
    if not isinstance(changes.customer_top_up_url, Keep):
        url = changes.customer_top_up_url or None
        if url is not None:
            rules.check_top_up_url(
                problems,
                ("input", "customerTopUpUrl"),
                url,
                has_secret=tenant.top_up_secret is not None,
            )
        tenant.customer_top_up_url = url
    await _apply_tariff_changes(session, principal, problems, tenant, changes)
    # Nothing is written on any error: the caller rolls the transaction back.
    problems.raise_if_any()
    await _flush_unique(session, tenant)
    if changes.partner_access is not None and changes.partner_access != tenant.partner_access:
        await partners.set_partner_access(session, principal, tenant, changes.partner_access)
    return tenant


async def _apply_tariff_changes(
    session: AsyncSession,
    principal: Principal,
    problems: Problems,
    tenant: Tenant,
    changes: TenantChanges,
) -> None:
    if not isinstance(changes.tenant_tariff_id, Keep):
        if not principal.scope.is_strict_ancestor_of(tenant):
            problems.add(
                ErrorCode.FORBIDDEN,
                "A tenant's tariff is set by an admin of a tenant above it.",
                ("input", "tenantTariffId"),
            )
        else:
            parent = (
                await repo.get(session, principal.scope, tenant.parent_id)
                if tenant.parent_id
                else None
            )
            tenant.tenant_tariff_id = await _tenant_tariff(
                session,
                principal,
                problems=problems,
                tariff_id=changes.tenant_tariff_id,
                parent=parent,
                currency=tenant.currency,
            )
    if not isinstance(changes.default_customer_tariff_id, Keep):
        tenant.default_customer_tariff_id = await _default_tariff(
            session,
            principal,
            problems=problems,
            tariff_id=changes.default_customer_tariff_id,
            path=tenant.path,
            currency=tenant.currency,
        )


async def create_root(session: AsyncSession, *, name: str, moniker: str, currency: str) -> Tenant:
    problems = Problems()
    rules.check_moniker(problems, ("moniker",), moniker)
    rules.check_currency(problems, ("currency",), currency)
    problems.raise_if_any()
    tenant_id = await repo.next_id(session)
    root = Tenant(
        id=tenant_id,
        parent_id=None,
        kind=TenantKind.ROOT,
        name=name,
        moniker=moniker,
        path=[tenant_id],
        scope_path=[tenant_id],
        subscription_types=[SubscriptionType.INTEGRATED.value, SubscriptionType.STANDALONE.value],
        currency=currency,
    )
    await repo.add(session, root)
    await ledger.open_account(
        session, tenant_id=root.id, owner_kind=OwnerKind.TENANT, currency=currency
    )
    return root


async def rotate_top_up_secret(
    session: AsyncSession, principal: Principal, tenant_id: int | None
) -> tuple[Tenant, str]:
    """A new key for the tenant's signed top-up links, returned this once (it is stored to
    sign links, and no read ever shows it). Links made with the old key stop verifying."""
    tenant = await _require_visible(
        session, principal.scope, tenant_id, "tenantId", for_update=True
    )
    principal.require_admin()
    tenant.top_up_secret = secrets.token_hex(32)
    await repo.add(session, tenant)
    return tenant, tenant.top_up_secret

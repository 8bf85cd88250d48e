"""Rules for customers and endpoints."""

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode, Problems, not_found
from tenantry.customers import repository as repo
from tenantry.customers.models import Customer, Endpoint
from tenantry.ledger import service as ledger
from tenantry.ledger.models import OwnerKind
from tenantry.operators.service import effective_operator_ids
from tenantry.tariffs import service as tariffs
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants import rules as tenant_rules
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import SubscriptionType

# ITU-T E.118: "89", then up to 20 more digits (19-20 in practice, 22 at most).
ICCID_RE = re.compile(r"89\d{16,20}")


@dataclass(frozen=True)
class NewCustomer:
    tenant_id: int
    name: str
    subscription_type: SubscriptionType
    tariff_id: int | None = None


async def create_customer(
    session: AsyncSession, principal: Principal, new: NewCustomer
) -> Customer:
    tenant = await tenants_repo.get(session, principal.scope, new.tenant_id)
    if tenant is None:
        raise tenant_not_found(("input", "tenantId"))
    principal.require_admin()

    problems = Problems()
    name = tenant_rules.check_name(problems, ("input", "name"), new.name)
    if new.subscription_type.value not in tenant.subscription_types:
        problems.add(
            ErrorCode.INVALID,
            f"{tenant.name} does not offer {new.subscription_type.value} subscriptions.",
            ("input", "subscriptionType"),
        )
    tariff_id = tenant.default_customer_tariff_id
    if new.tariff_id is not None:
        field = ("input", "tariffId")
        tariff = await tariffs.resolve_assignable(session, principal.scope, new.tariff_id, field)
        tariffs.check_customer_tariff(problems, field, tariff, tenant.path, tenant.currency)
        tariff_id = tariff.id
    problems.raise_if_any()

    account = await ledger.open_account(
        session, tenant_id=tenant.id, owner_kind=OwnerKind.CUSTOMER, currency=tenant.currency
    )
    customer = Customer(
        tenant_id=tenant.id,
        name=name,
        subscription_type=new.subscription_type,
        tariff_id=tariff_id,
        account_id=account.id,
    )
    await repo.add(session, customer)
    return customer


@dataclass(frozen=True)
class NewEndpoint:
    customer_id: int
    name: str
    iccid: str
    sponsor_operator_id: int


async def create_endpoint(
    session: AsyncSession, principal: Principal, new: NewEndpoint
) -> Endpoint:
    customer = await repo.get_customer(session, principal.scope, new.customer_id)
    if customer is None:
        raise not_found(("input", "customerId"), "customer")
    principal.require_admin()

    problems = Problems()
    name = tenant_rules.check_name(problems, ("input", "name"), new.name)
    iccid = new.iccid.strip()
    if not ICCID_RE.fullmatch(iccid):
        problems.add(
            ErrorCode.INVALID, "ICCID must be 18-22 digits starting with 89.", ("input", "iccid")
        )
    elif await repo.iccid_taken(session, iccid):
        problems.add(ErrorCode.TAKEN, "This ICCID is already in use.", ("input", "iccid"))
    available = (await effective_operator_ids(session, [customer.tenant_id]))[customer.tenant_id]
    if new.sponsor_operator_id not in available:
        problems.add(
            ErrorCode.INVALID,
            "This sponsor operator is not available to the customer's tenant.",
            ("input", "sponsorOperatorId"),
        )
    problems.raise_if_any()

    endpoint = Endpoint(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        name=name,
        iccid=iccid,
        sponsor_operator_id=new.sponsor_operator_id,
    )
    try:
        await repo.add(session, endpoint)
    except IntegrityError as exc:
        if "uq_endpoints_iccid" in str(exc.orig):
            raise DomainError.one(
                ErrorCode.TAKEN, "This ICCID is already in use.", ("input", "iccid")
            ) from exc
        raise
    return endpoint

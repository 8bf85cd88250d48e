"""All SQL about customers and endpoints."""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.customers.models import Customer, Endpoint
from tenantry.customers.topup import TopUpTemplate
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.tariffs.models import Tariff
from tenantry.tenants.models import Tenant


def customer_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """The customers the scope may see (the compiled read path builds on it too)."""
    return scope.owned_by_visible_tenant(Customer.tenant_id)


def endpoint_filter(scope: Scope) -> sa.ColumnElement[bool]:
    return scope.owned_by_visible_tenant(Endpoint.tenant_id)


async def add(session: AsyncSession, row: Customer | Endpoint) -> None:
    session.add(row)
    await session.flush()


async def get_customer(session: AsyncSession, scope: Scope, customer_id: int) -> Customer | None:
    stmt = sa.select(Customer).where(Customer.id == customer_id, customer_filter(scope))
    return await session.scalar(stmt)


async def customers_by_ids(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[Customer]:
    stmt = sa.select(Customer).where(any_of(Customer.id, ids), customer_filter(scope))
    return list((await session.scalars(stmt)).all())


async def endpoints_by_ids(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[Endpoint]:
    stmt = sa.select(Endpoint).where(any_of(Endpoint.id, ids), endpoint_filter(scope))
    return list((await session.scalars(stmt)).all())


async def customer_pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Customer]]:
    return await pages_by_key(
        session,
        Customer,
        Customer.tenant_id,
        tenant_ids,
        page,
        customer_filter(scope),
    )


async def customer_counts(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(session, Customer.tenant_id, tenant_ids, customer_filter(scope))


async def endpoint_pages(
    session: AsyncSession, scope: Scope, customer_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Endpoint]]:
    return await pages_by_key(
        session,
        Endpoint,
        Endpoint.customer_id,
        customer_ids,
        page,
        endpoint_filter(scope),
    )


async def endpoint_counts(
    session: AsyncSession, scope: Scope, customer_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(
        session,
        Endpoint.customer_id,
        customer_ids,
        endpoint_filter(scope),
    )


async def iccid_taken(session: AsyncSession, iccid: str) -> bool:
    # ICCIDs identify physical SIMs: unique across the platform, so deliberately unscoped.
    return bool(await session.scalar(sa.select(sa.exists().where(Endpoint.iccid == iccid))))


async def top_up_templates(
    session: AsyncSession, tenant_ids: Sequence[int]
) -> dict[int, TopUpTemplate | None]:
    """For each tenant, its own top-up URL template or its nearest ancestor's, with that
    template owner's signing secret.

    Unscoped on purpose: the template is configuration that flows down the tree; only the
    rendered URL is shown, never the ancestor or its secret.
    """
    own = sa.select(Tenant.id, Tenant.path).where(any_of(Tenant.id, tenant_ids)).subquery()
    ancestor = sa.orm.aliased(Tenant)
    position = sa.func.array_position(own.c.path, ancestor.id)
    stmt = (
        sa.select(own.c.id, ancestor.customer_top_up_url, ancestor.top_up_secret)
        .join(ancestor, ancestor.id == sa.any_(own.c.path))
        .where(ancestor.customer_top_up_url.is_not(None))
        .order_by(own.c.id, position.desc())
        .ext(distinct_on(own.c.id))
    )
    found = {
        tenant_id: TopUpTemplate(url, secret)
        for tenant_id, url, secret in (await session.execute(stmt)).all()
    }
    return {tenant_id: found.get(tenant_id) for tenant_id in tenant_ids}


async def endpoints_by_operator(
    session: AsyncSession, tenant_ids: Sequence[int]
) -> dict[tuple[int, int], int]:
    """How many endpoints each (tenant, sponsor operator) has (unscoped: for tree rules)."""
    stmt = (
        sa.select(Endpoint.tenant_id, Endpoint.sponsor_operator_id, sa.func.count())
        .where(any_of(Endpoint.tenant_id, tenant_ids))
        .group_by(Endpoint.tenant_id, Endpoint.sponsor_operator_id)
    )
    return {(t, o): n for t, o, n in (await session.execute(stmt)).all()}


async def customers_by_tariff_owner(
    session: AsyncSession, tenant_ids: Sequence[int]
) -> dict[int, int]:
    """How many customers of these tenants pay a tariff of each owner (unscoped: tree rules)."""
    stmt = (
        sa.select(Tariff.tenant_id, sa.func.count())
        .join(Customer, Customer.tariff_id == Tariff.id)
        .where(any_of(Customer.tenant_id, tenant_ids))
        .group_by(Tariff.tenant_id)
    )
    return {owner: n for owner, n in (await session.execute(stmt)).all()}

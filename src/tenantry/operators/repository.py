"""All SQL about sponsor operators and their grants."""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.db.paging import any_of
from tenantry.operators.models import SponsorOperator, SponsorOperatorGrant
from tenantry.tenants.models import Tenant


async def add(session: AsyncSession, operator: SponsorOperator) -> SponsorOperator:
    session.add(operator)
    await session.flush()
    return operator


async def name_taken(session: AsyncSession, name: str) -> bool:
    stmt = sa.select(sa.exists().where(sa.func.lower(SponsorOperator.name) == name.lower()))
    return bool(await session.scalar(stmt))


async def all_operators(session: AsyncSession) -> list[SponsorOperator]:
    # The catalog itself is public to every signed-in tenant: names, nothing else.
    return list(
        (await session.scalars(sa.select(SponsorOperator).order_by(SponsorOperator.name))).all()
    )


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> list[SponsorOperator]:
    return list(
        (
            await session.scalars(sa.select(SponsorOperator).where(any_of(SponsorOperator.id, ids)))
        ).all()
    )


async def grant(session: AsyncSession, tenant_id: int, operator_ids: Sequence[int]) -> None:
    if not operator_ids:
        return
    stmt = insert(SponsorOperatorGrant).values(
        [{"tenant_id": tenant_id, "sponsor_operator_id": op_id} for op_id in operator_ids]
    )
    await session.execute(stmt.on_conflict_do_nothing())


async def withdraw(session: AsyncSession, grants: Sequence[tuple[int, int]]) -> None:
    """Remove direct grants, given as (tenant, operator) pairs."""
    if not grants:
        return
    pairs = sa.tuple_(SponsorOperatorGrant.tenant_id, SponsorOperatorGrant.sponsor_operator_id)
    await session.execute(sa.delete(SponsorOperatorGrant).where(pairs.in_(list(grants))))


async def lineage(
    session: AsyncSession, tenant_ids: Sequence[int]
) -> tuple[dict[int, Tenant], dict[int, set[int]]]:
    """Every tenant on the paths of ``tenant_ids`` (unscoped: effective operators depend on
    ancestors' grants, which callers never expose), and each one's direct grants."""
    paths = sa.select(sa.func.unnest(Tenant.path)).where(any_of(Tenant.id, tenant_ids))
    tenants = {
        t.id: t
        for t in (await session.scalars(sa.select(Tenant).where(Tenant.id.in_(paths)))).all()
    }
    grants: dict[int, set[int]] = defaultdict(set)
    rows = await session.execute(
        sa.select(SponsorOperatorGrant.tenant_id, SponsorOperatorGrant.sponsor_operator_id).where(
            any_of(SponsorOperatorGrant.tenant_id, list(tenants))
        )
    )
    for tenant_id, operator_id in rows.all():
        grants[tenant_id].add(operator_id)
    return tenants, grants


def available_filter(path: sa.ColumnElement[list[int]]) -> sa.ColumnElement[bool]:
    """Filter on ``sponsor_operators``: those available to the tenant at the end of ``path``
    (its ids, root first), as ``service.effective_operator_ids`` derives them: its grants,
    and its parent's available ones while it inherits, up to the root, which has all.

    Going up from the tenant, inheritance stops at the last tenant on the path (not the
    root) that does not inherit: the grants from there down are what it has; when no
    tenant stops it, it reaches the root's whole catalog."""
    on_path = sa.func.unnest(path).table_valued("id", with_ordinality="n").render_derived()
    tenant = aliased(Tenant)
    stop = (
        sa.select(sa.func.max(on_path.c.n))
        .select_from(on_path.join(tenant, tenant.id == on_path.c.id))
        .where(tenant.parent_id.is_not(None), tenant.inherit_sponsor_operators.is_(False))
        .scalar_subquery()
    )
    below = sa.func.unnest(path).table_valued("id", with_ordinality="n").render_derived()
    grant = aliased(SponsorOperatorGrant)
    granted = (
        sa.select(grant.tenant_id)
        .select_from(below.join(grant, grant.tenant_id == below.c.id))
        .where(grant.sponsor_operator_id == SponsorOperator.id, below.c.n >= stop)
        .exists()
    )
    return sa.or_(stop.is_(None), granted)

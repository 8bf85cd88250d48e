"""All SQL about tenants."""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, page_of, pages_by_key
from tenantry.tenants.models import Tenant, TenantKind


async def next_id(session: AsyncSession) -> int:
    # The id is needed before the insert: it ends the tenant's own materialized path.
    value = await session.scalar(
        sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence("tenants", "id")))
    )
    assert value is not None
    return int(value)


async def add(session: AsyncSession, tenant: Tenant) -> Tenant:
    session.add(tenant)
    await session.flush()
    return tenant


async def get(
    session: AsyncSession, scope: Scope, tenant_id: int, *, for_update: bool = False
) -> Tenant | None:
    stmt = sa.select(Tenant).where(Tenant.id == tenant_id, scope.tenants())
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get_billing_face(
    session: AsyncSession, scope: Scope, tenant_id: int, *, for_update: bool = False
) -> Tenant | None:
    """A tenant in scope, or a managed tenant whose billing face the caller (its partner's
    admin) may see. Callers must not open its workspace: see ``Scope.sees_workspace_of``."""
    stmt = sa.select(Tenant).where(Tenant.id == tenant_id, scope.billing_faces())
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get_by_moniker(session: AsyncSession, scope: Scope, moniker: str) -> Tenant | None:
    return await session.scalar(
        sa.select(Tenant).where(Tenant.moniker == moniker, scope.billing_faces())
    )


async def get_root(session: AsyncSession) -> Tenant | None:
    return await session.scalar(sa.select(Tenant).where(Tenant.parent_id.is_(None)))


async def moniker_taken(
    session: AsyncSession, moniker: str, *, exclude_id: int | None = None
) -> bool:
    # Monikers are unique across the whole platform, so this check is deliberately unscoped.
    stmt = sa.select(sa.exists().where(Tenant.moniker == moniker))
    if exclude_id is not None:
        stmt = sa.select(sa.exists().where(Tenant.moniker == moniker, Tenant.id != exclude_id))
    return bool(await session.scalar(stmt))


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Tenant]:
    """For reads: tenants in scope and billing faces (see ``get_billing_face``)."""
    stmt = sa.select(Tenant).where(any_of(Tenant.id, ids), scope.billing_faces())
    return list((await session.scalars(stmt)).all())


def search_pattern(search: str) -> str:
    """The ILIKE pattern of a tenant search: the text anywhere, wildcards taken literally."""
    return "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def matches_search(pattern: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    return sa.or_(Tenant.name.ilike(pattern), Tenant.moniker.ilike(pattern))


def _search(search: str | None) -> sa.ColumnElement[bool]:
    if not search:
        return sa.true()
    return matches_search(sa.literal(search_pattern(search), sa.String))


async def visible_page(
    session: AsyncSession, scope: Scope, page: PageRequest, search: str | None
) -> Page[Tenant]:
    return await page_of(session, Tenant, page, scope.tenants(), _search(search))


async def visible_count(session: AsyncSession, scope: Scope, search: str | None) -> int:
    stmt = sa.select(sa.func.count()).select_from(Tenant).where(scope.tenants(), _search(search))
    return int(await session.scalar(stmt) or 0)


def children_filter(scope: Scope, kind: TenantKind) -> tuple[sa.ColumnElement[bool], ...]:
    """Filter on ``tenants``: the visible children of one kind (with ``parent_id`` matched)."""
    return (Tenant.kind == kind, scope.tenants())


async def children_pages(
    session: AsyncSession,
    scope: Scope,
    parent_ids: Sequence[int],
    page: PageRequest,
    kind: TenantKind = TenantKind.SUB_TENANT,
) -> dict[int, Page[Tenant]]:
    return await pages_by_key(
        session, Tenant, Tenant.parent_id, parent_ids, page, *children_filter(scope, kind)
    )


async def children_counts(
    session: AsyncSession,
    scope: Scope,
    parent_ids: Sequence[int],
    kind: TenantKind = TenantKind.SUB_TENANT,
) -> dict[int, int]:
    return await counts_by_key(session, Tenant.parent_id, parent_ids, *children_filter(scope, kind))


def managed_filter(scope: Scope) -> tuple[sa.ColumnElement[bool], ...]:
    """Filter on ``tenants``: managed tenants (with ``parent_id`` matched), as billing faces."""
    return (Tenant.kind == TenantKind.MANAGED, scope.billing_faces())


async def managed_pages(
    session: AsyncSession, scope: Scope, partner_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Tenant]]:
    return await pages_by_key(
        session, Tenant, Tenant.parent_id, partner_ids, page, *managed_filter(scope)
    )


async def managed_counts(
    session: AsyncSession, scope: Scope, partner_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(session, Tenant.parent_id, partner_ids, *managed_filter(scope))


async def set_scope_member(
    session: AsyncSession, root_id: int, member_id: int, *, member: bool
) -> None:
    """Add ``member_id`` to (or take it out of) the scope of ``root_id`` and all below it."""
    without = sa.func.array_remove(Tenant.scope_path, member_id)
    value = sa.func.array_prepend(member_id, without) if member else without
    await session.execute(
        sa.update(Tenant)
        .where(Tenant.path.contains(sa.literal([root_id], Tenant.path.type)))
        .values(scope_path=value)
        .execution_options(synchronize_session=False)
    )


async def get_unscoped(session: AsyncSession, tenant_id: int) -> Tenant:
    """For rules that follow the tree upward (a managed tenant's partner), never for display."""
    return await session.get_one(Tenant, tenant_id)


async def set_managed_billing_entity(
    session: AsyncSession, partner_id: int, entity_id: int | None
) -> None:
    await session.execute(
        sa.update(Tenant)
        .where(Tenant.parent_id == partner_id, Tenant.kind == TenantKind.MANAGED)
        .values(billing_entity_id=entity_id)
        .execution_options(synchronize_session=False)
    )


async def lineage(session: AsyncSession, tenant_ids: Sequence[int]) -> dict[int, Tenant]:
    """The tenants and all their ancestors, in one statement (unscoped: for inherited values)."""
    on_paths = sa.select(sa.func.unnest(Tenant.path)).where(any_of(Tenant.id, tenant_ids))
    rows = await session.scalars(sa.select(Tenant).where(Tenant.id.in_(on_paths)))
    return {t.id: t for t in rows.all()}

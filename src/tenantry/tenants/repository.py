"""All SQL about tenants."""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, page_of, pages_by_key
from tenantry.tenants.models import Tenant, TenantKind, TenantPlacement


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


# Moving a sub-tree rewrites the paths every tree write depends on. Writers that read a
# path and write rows that depend on it (creating a tenant, changing one, rating usage) hold
# this lock shared from their first statement; a move holds it alone. So a move never runs
# beside them (across processes too), and two moves take turns, each reading the tree as the
# other left it. Shared holders never wait for each other.
_TREE_LOCK = sa.func.hashtextextended(sa.literal("tenant-tree-paths"), 0)


async def hold_tree_steady(session: AsyncSession) -> None:
    """Keep the tree's paths as they are until this transaction ends (see ``_TREE_LOCK``)."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(_TREE_LOCK)))


async def lock_tree_for_move(session: AsyncSession) -> None:
    """Wait until no tree writer or other move is running, and hold them off until commit."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_TREE_LOCK)))


async def subtree(
    session: AsyncSession, tenant_id: int, *, for_update: bool = False
) -> list[Tenant]:
    """The tenant and everything below it, in id order (unscoped: the mover sees them all).
    Locked rows are taken in id order, so two lockers never deadlock."""
    stmt = (
        sa.select(Tenant)
        .where(Tenant.path.contains(sa.literal([tenant_id], Tenant.path.type)))
        .order_by(Tenant.id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.scalars(stmt)).all())


# Slices are written "a : b" with spaces: "x:name" would read as a bound parameter.
_REWRITE_PATHS = sa.text(
    """
    UPDATE tenants SET
        path = CAST(:parent_path AS bigint[])
               || path[CAST(:from_path AS int) : cardinality(path)],
        scope_path = CASE
            WHEN scope_path[1 : cardinality(CAST(:old_scope AS bigint[]))]
                 = CAST(:old_scope AS bigint[])
            THEN CAST(:parent_scope AS bigint[])
                 || scope_path[cardinality(CAST(:old_scope AS bigint[])) : cardinality(scope_path)]
            ELSE scope_path
        END
    WHERE path @> ARRAY[CAST(:tenant_id AS bigint)]
    """
)


async def place_subtree(session: AsyncSession, tenant_id: int, through_record_id: int) -> None:
    """Before a sub-tree moves: for each of its tenants, note the path its usage records since
    its last move (ids up to ``through_record_id``) were rated up. Two statements, however
    many tenants and records; no usage record is rewritten."""
    below = Tenant.path.contains(sa.literal([tenant_id], Tenant.path.type))
    placed = sa.select(
        Tenant.id,
        Tenant.path,
        Tenant.placed_after_record_id,
        sa.literal(through_record_id, sa.BigInteger),
    ).where(below, Tenant.placed_after_record_id < through_record_id)
    await session.execute(
        sa.insert(TenantPlacement).from_select(
            ["tenant_id", "path", "records_after", "records_through"], placed
        )
    )
    await session.execute(
        sa.update(Tenant)
        .where(below)
        .values(placed_after_record_id=through_record_id)
        .execution_options(synchronize_session=False)
    )


async def rewrite_subtree_paths(session: AsyncSession, moved: Tenant, new_parent: Tenant) -> None:
    """Put ``moved`` and everything below it under ``new_parent``, in one statement.

    ``path``: the new parent's path, then each path from the moved tenant down. ``scope_path``
    of the tenants that see through the moved tenant's whole scope (not those inside a
    managed tenant below, whose scope starts there): the new parent's scope instead of the
    old parent's."""
    await session.execute(
        _REWRITE_PATHS,
        {
            "parent_path": list(new_parent.path),
            "from_path": len(moved.path),
            "old_scope": list(moved.scope_path),
            "parent_scope": list(new_parent.scope_path),
            "tenant_id": moved.id,
        },
    )
    await session.execute(
        sa.update(Tenant)
        .where(Tenant.id == moved.id)
        .values(parent_id=new_parent.id, tenant_tariff_id=moved.tenant_tariff_id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(moved)

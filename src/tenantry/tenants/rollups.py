"""The call site where a move of a sub-tree tells the usage rollups that the tree changed.

Usage rollups (per tenant, day and kind, whole sub-trees included) are built in another
branch. A move changes which sub-trees hold records rated from then on, and which tenants
keep the history (usage.models, ``tenant_placements``). ``after_move`` runs inside the move's
transaction, after the paths are rewritten and before the audit event: at merge, the
integrator makes it recompute the rollups of the tenants it names. Until rollups exist there
is nothing to keep in step, so it does nothing.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class MovedSubtree:
    # The moved tenant and every tenant below it, in id order.
    tenant_ids: list[int]
    # The tenants above it before and after the move (the root and common ancestors in both).
    old_ancestor_ids: list[int]
    new_ancestor_ids: list[int]


async def after_move(session: AsyncSession, moved: MovedSubtree) -> None:
    """Rebuild the usage rollups a move affects (the integrator's hook; see the module)."""
    del session, moved

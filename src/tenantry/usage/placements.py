"""Which usage records a tenant was charged for, and at which level: the path each record
was rated up. A tenant that has never moved rated its records up its current path; a move
(tenants/move.py) rewrites no record but notes in ``tenant_placements`` the id range of each
moved tenant's records and the path they were rated up, so old ancestors keep them and new
ancestors get only what is rated after the move (see models.py).
"""

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array as pg_array

from tenantry.tenants.models import Tenant, TenantPlacement
from tenantry.usage.models import UsageRecord


def charges_at(
    level: sa.ColumnElement[int] | None,
) -> tuple[sa.ColumnElement[Decimal], sa.ColumnElement[Decimal]]:
    """What the owner paid and earned for one record. For a tenant at depth ``level`` on the
    path the record was rated up: it paid ``charges[depth - level + 2]`` (array index + 1)
    and earned ``charges[depth - level + 1]``; a customer or endpoint (None) paid level 0."""
    charges, depth = UsageRecord.charges, UsageRecord.depth
    if level is None:
        return sa.func.coalesce(charges[1], 0), sa.literal(Decimal(0))
    return (
        sa.func.coalesce(charges[depth - level + 2], 0),
        sa.func.coalesce(charges[depth - level + 1], 0),
    )


@dataclass(frozen=True)
class Part:
    """Records rated under an owner tenant: joined on ``condition`` (with ``table``, if any),
    the owner at depth ``level`` on the path each was rated up."""

    condition: sa.ColumnElement[bool]
    table: sa.FromClause | None
    level: sa.ColumnElement[int]


def tenant_parts(
    owner_id: sa.ColumnElement[int], owner_depth: sa.ColumnElement[int], subtree: bool
) -> list[Part]:
    """The records rated under a tenant, in parts to UNION ALL (they never overlap).

    Its own endpoints' records (it is last on the path each was rated up). With its subtree:
    the records of the tenants below it now, rated since their last move (up their current
    path, so the owner is at its current depth); and the records rated before a move up a
    path through the owner (``tenant_placements``: GIN on the path, then the tenant's
    records in an id range), at the owner's place on that path.
    """
    if not subtree:
        # The owner is last on the path of each of its own records: at the record's depth.
        own = sa.cast(UsageRecord.depth, sa.SmallInteger)
        return [Part(UsageRecord.tenant_id == owner_id, None, own)]
    below = sa.orm.aliased(Tenant)
    current = sa.and_(
        below.path.contains(pg_array([owner_id])),
        UsageRecord.tenant_id == below.id,
        UsageRecord.id > below.placed_after_record_id,
    )
    placed = sa.orm.aliased(TenantPlacement)
    before_a_move = sa.and_(
        placed.path.contains(pg_array([owner_id])),
        UsageRecord.tenant_id == placed.tenant_id,
        UsageRecord.id > placed.records_after,
        UsageRecord.id <= placed.records_through,
    )
    return [
        Part(current, sa.inspect(below).selectable, owner_depth),
        Part(
            before_a_move,
            sa.inspect(placed).selectable,
            sa.func.array_position(placed.path, owner_id) - 1,
        ),
    ]

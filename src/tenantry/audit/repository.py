"""All SQL about audit events."""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import counts_by_key, pages_by_key


async def add(session: AsyncSession, event: AuditEvent) -> None:
    session.add(event)
    await session.flush()


def event_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on audit events: those of tenants in scope (both read paths; who may read
    a log at all is ``Principal.reads_audit_log_of``)."""
    return scope.owned_by_visible_tenant(AuditEvent.tenant_id)


async def pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[AuditEvent]]:
    return await pages_by_key(
        session,
        AuditEvent,
        AuditEvent.tenant_id,
        tenant_ids,
        page,
        event_filter(scope),
        descending=True,
    )


async def counts(session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]) -> dict[int, int]:
    return await counts_by_key(session, AuditEvent.tenant_id, tenant_ids, event_filter(scope))

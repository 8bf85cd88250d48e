"""Audit event and impersonation loaders."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.loaders.base import ByIdLoader, CountByParentLoader, PageByParentLoader
from tenantry.audit import repository as repo
from tenantry.audit.models import AuditEvent
from tenantry.auth import repository as auth_repo
from tenantry.auth.models import Impersonation, User
from tenantry.auth.scope import Scope


class AuditEventPageByTenantLoader(PageByParentLoader[AuditEvent]):
    """Newest first."""

    fetch = staticmethod(repo.pages)


class AuditEventCountByTenantLoader(CountByParentLoader):
    fetch = staticmethod(repo.counts)


async def _impersonations(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[Impersonation]:
    # Reached only from the viewer's own impersonation and the start/end payloads.
    return await auth_repo.impersonations_by_ids(session, ids)


class ImpersonationByIdLoader(ByIdLoader[Impersonation]):
    fetch = staticmethod(_impersonations)


async def _users(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[User]:
    return await auth_repo.users_by_ids_unscoped(session, ids)


class UserByIdUnscopedLoader(ByIdLoader[User]):
    """Only for the person behind an impersonation, shown to that same person."""

    fetch = staticmethod(_users)

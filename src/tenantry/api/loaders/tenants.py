"""Tenant loaders."""

from tenantry.api.loaders.base import (
    ByIdLoader,
    CountByParentLoader,
    PageByParentLoader,
    ScopedLoader,
)
from tenantry.tenants import repository as repo
from tenantry.tenants.models import Tenant


class TenantByIdLoader(ByIdLoader[Tenant]):
    fetch = staticmethod(repo.by_ids)


class SubTenantPageByParentLoader(PageByParentLoader[Tenant]):
    fetch = staticmethod(repo.children_pages)


class SubTenantCountByParentLoader(CountByParentLoader):
    fetch = staticmethod(repo.children_counts)


class LineageLoader(ScopedLoader[int, dict[int, Tenant]]):
    """Key: a tenant the caller can see; it and its ancestors, for reading inherited values.
    Ancestors are never shown from here: resolvers show them through ``tenant_by_id``."""

    async def batch_load_fn(self, keys: list[int]) -> list[dict[int, Tenant]]:
        async with self.db.read() as session:
            tenants = await repo.lineage(session, keys)
        return [{t: tenants[t] for t in tenants[key].path if t in tenants} for key in keys]

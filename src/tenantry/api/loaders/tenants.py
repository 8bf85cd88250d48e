"""Tenant loaders."""

from tenantry.api.loaders.base import ByIdLoader, CountByParentLoader, PageByParentLoader
from tenantry.tenants import repository as repo
from tenantry.tenants.models import Tenant


class TenantByIdLoader(ByIdLoader[Tenant]):
    fetch = staticmethod(repo.by_ids)


class SubTenantPageByParentLoader(PageByParentLoader[Tenant]):
    fetch = staticmethod(repo.children_pages)


class SubTenantCountByParentLoader(CountByParentLoader):
    fetch = staticmethod(repo.children_counts)

"""Usage report loaders."""

from tenantry.api.loaders.base import ByIdLoader, CountByParentLoader, PageByParentLoader
from tenantry.reports import repository as repo
from tenantry.reports.models import UsageReport


class UsageReportByIdLoader(ByIdLoader[UsageReport]):
    fetch = staticmethod(repo.by_ids)


class UsageReportPageByTenantLoader(PageByParentLoader[UsageReport]):
    """Newest first: the tenant's reports section."""

    fetch = staticmethod(repo.pages)


class UsageReportCountByTenantLoader(CountByParentLoader):
    fetch = staticmethod(repo.counts)

"""Customer and endpoint loaders."""

from tenantry.api.loaders.base import (
    ByIdLoader,
    CountByParentLoader,
    PageByParentLoader,
    ScopedLoader,
)
from tenantry.customers import repository as repo
from tenantry.customers.models import Customer, Endpoint
from tenantry.customers.topup import TopUpTemplate


class CustomerByIdLoader(ByIdLoader[Customer]):
    fetch = staticmethod(repo.customers_by_ids)


class CustomerPageByTenantLoader(PageByParentLoader[Customer]):
    fetch = staticmethod(repo.customer_pages)


class CustomerCountByTenantLoader(CountByParentLoader):
    fetch = staticmethod(repo.customer_counts)


class EndpointByIdLoader(ByIdLoader[Endpoint]):
    fetch = staticmethod(repo.endpoints_by_ids)


class EndpointPageByCustomerLoader(PageByParentLoader[Endpoint]):
    fetch = staticmethod(repo.endpoint_pages)


class EndpointCountByCustomerLoader(CountByParentLoader):
    fetch = staticmethod(repo.endpoint_counts)


class TopUpTemplateByTenantLoader(ScopedLoader[int, TopUpTemplate | None]):
    """The effective top-up URL template of tenants the caller can see."""

    async def batch_load_fn(self, keys: list[int]) -> list[TopUpTemplate | None]:
        async with self.db.read() as session:
            found = await repo.top_up_templates(session, keys)
        return [found[key] for key in keys]

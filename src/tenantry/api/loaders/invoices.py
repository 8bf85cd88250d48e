"""Partner invoice loaders: invoices are visible where their partner is in scope."""

from tenantry.api.loaders.base import (
    ByIdLoader,
    CountByParentLoader,
    PageByParentLoader,
    ScopedLoader,
)
from tenantry.partners import invoice_repository as repo
from tenantry.partners.models import Invoice, InvoiceLine


class InvoiceByIdLoader(ByIdLoader[Invoice]):
    fetch = staticmethod(repo.by_ids)


class InvoicePageByTenantLoader(PageByParentLoader[Invoice]):
    """Newest first: a partner's invoices section."""

    fetch = staticmethod(repo.pages)


class InvoiceCountByTenantLoader(CountByParentLoader):
    fetch = staticmethod(repo.counts)


class InvoiceLinesLoader(ScopedLoader[int, list[InvoiceLine]]):
    """Key: invoice id. Its lines in billing order (none when the invoice is not visible)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[InvoiceLine]]:
        async with self.db.read() as session:
            lines = await repo.lines_of(session, self.scope, keys)
        return [lines.get(key, []) for key in keys]

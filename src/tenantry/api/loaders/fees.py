"""Endpoint fee run loaders: runs are the platform's, visible to its users only."""

from decimal import Decimal

from tenantry.api.loaders.base import ByIdLoader, ScopedLoader
from tenantry.fees import repository as repo
from tenantry.fees.models import FeeRun


class FeeRunByIdLoader(ByIdLoader[FeeRun]):
    fetch = staticmethod(repo.by_ids)


class FeeRunChargedLoader(ScopedLoader[int, list[tuple[str, Decimal]]]):
    """Key: run id. What its customers paid, per currency (nothing when not visible)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[tuple[str, Decimal]]]:
        async with self.db.read() as session:
            charged = await repo.charged_to_customers(session, self.scope, keys)
        return [charged.get(key, []) for key in keys]

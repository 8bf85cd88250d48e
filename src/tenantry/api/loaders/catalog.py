"""Tariff and sponsor operator loaders."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.loaders.base import (
    ByIdLoader,
    CountByParentLoader,
    PageByParentLoader,
    ScopedLoader,
)
from tenantry.auth.scope import Scope
from tenantry.operators import repository as operators_repo
from tenantry.operators.models import SponsorOperator
from tenantry.operators.service import effective_operator_ids
from tenantry.tariffs import repository as repo
from tenantry.tariffs.models import Tariff, TariffRate, TariffVersion


class TariffByIdLoader(ByIdLoader[Tariff]):
    fetch = staticmethod(repo.by_ids)


class TariffPageByOwnerLoader(PageByParentLoader[Tariff]):
    fetch = staticmethod(repo.owned_pages)


class TariffCountByOwnerLoader(CountByParentLoader):
    fetch = staticmethod(repo.owned_counts)


class VersionRatesLoader(ScopedLoader[int, list[TariffRate]]):
    """Rates of versions of tariffs the caller already holds (loaded through the scope)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[TariffRate]]:
        async with self.db.read() as session:
            rates = await repo.rates_of_versions(session, keys)
        return [rates.get(key, []) for key in keys]


class CurrentVersionByTariffLoader(ScopedLoader[int, TariffVersion | None]):
    """The version in force now of tariffs the caller already holds."""

    async def batch_load_fn(self, keys: list[int]) -> list[TariffVersion | None]:
        async with self.db.read() as session:
            versions = await repo.current_versions(session, keys)
        return [versions.get(key) for key in keys]


class VersionsByTariffLoader(ScopedLoader[int, list[TariffVersion]]):
    """Every version, newest first, of tariffs the caller already holds."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[TariffVersion]]:
        async with self.db.read() as session:
            versions = await repo.versions_of(session, keys)
        return [versions.get(key, []) for key in keys]


class TariffVersionByIdLoader(ByIdLoader[TariffVersion]):
    fetch = staticmethod(repo.versions_by_ids)


async def _operators(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[SponsorOperator]:
    # The operator catalog is the platform's and public to every signed-in tenant.
    return await operators_repo.by_ids(session, ids)


class SponsorOperatorByIdLoader(ByIdLoader[SponsorOperator]):
    fetch = staticmethod(_operators)


class EffectiveOperatorIdsLoader(ScopedLoader[int, list[int]]):
    """Operator ids available to each tenant (the caller passes tenants it can see)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[int]]:
        async with self.db.read() as session:
            found = await effective_operator_ids(session, keys)
        return [sorted(found.get(key, ())) for key in keys]

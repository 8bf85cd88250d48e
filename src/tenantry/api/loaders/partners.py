"""Billing entity and plan loaders."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.loaders.base import (
    ByIdLoader,
    CountByParentLoader,
    PageByParentLoader,
    ScopedLoader,
)
from tenantry.auth.scope import Scope
from tenantry.partners import repository as repo
from tenantry.partners.models import BillingEntity, Plan, PlanKind
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.models import Tenant


async def _billing_entities(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[BillingEntity]:
    # The platform's entities are a public catalog, like sponsor operators.
    return await repo.billing_entities_by_ids(session, ids)


class BillingEntityByIdLoader(ByIdLoader[BillingEntity]):
    fetch = staticmethod(_billing_entities)


class PlanByIdLoader(ByIdLoader[Plan]):
    fetch = staticmethod(repo.plans_by_ids)


class CurrentPlansLoader(ScopedLoader[int, dict[PlanKind, int]]):
    """Key: a managed tenant the caller can see; its open plan periods, plan id per kind."""

    async def batch_load_fn(self, keys: list[int]) -> list[dict[PlanKind, int]]:
        async with self.db.read() as session:
            periods = await repo.open_periods(session, keys)
        found: dict[int, dict[PlanKind, int]] = defaultdict(dict)
        for period in periods:
            found[period.managed_tenant_id][period.kind] = period.plan_id
        return [found.get(key, {}) for key in keys]


class PlanCatalogLoader(ScopedLoader[tuple[int, PlanKind], list[Plan]]):
    """Key: (partner id, kind); cheapest first."""

    async def batch_load_fn(self, keys: list[tuple[int, PlanKind]]) -> list[list[Plan]]:
        by_kind: dict[PlanKind, list[int]] = defaultdict(list)
        for partner_id, kind in keys:
            by_kind[kind].append(partner_id)
        found: dict[tuple[int, PlanKind], list[Plan]] = {}
        async with self.db.read() as session:
            for kind, partner_ids in by_kind.items():
                catalogs = await repo.catalogs(session, self.scope, partner_ids, kind)
                found.update({(pid, kind): catalogs.get(pid, []) for pid in partner_ids})
        return [found[key] for key in keys]


class ManagedTenantPageLoader(PageByParentLoader[Tenant]):
    fetch = staticmethod(tenants_repo.managed_pages)


class ManagedTenantCountLoader(CountByParentLoader):
    fetch = staticmethod(tenants_repo.managed_counts)

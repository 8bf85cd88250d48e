"""Billing entity and plan loaders."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.loaders.base import ByIdLoader
from tenantry.auth.scope import Scope
from tenantry.partners import repository as repo
from tenantry.partners.models import BillingEntity, Plan


async def _billing_entities(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[BillingEntity]:
    # The platform's entities are a public catalog, like sponsor operators.
    return await repo.billing_entities_by_ids(session, ids)


class BillingEntityByIdLoader(ByIdLoader[BillingEntity]):
    fetch = staticmethod(_billing_entities)


class PlanByIdLoader(ByIdLoader[Plan]):
    fetch = staticmethod(repo.plans_by_ids)

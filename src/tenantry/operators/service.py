"""Rules for sponsor operators: the platform catalog and what each tenant may use.

A tenant's available operators are those granted to it directly plus, when its inherit
flag is on, all of its parent's. The root (the platform) has the whole catalog.
"""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError, ErrorCode, Problems
from tenantry.operators import repository as repo
from tenantry.operators.models import SponsorOperator
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants import rules as tenant_rules
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import Tenant


async def create_operator(
    session: AsyncSession, principal: Principal, name: str
) -> SponsorOperator:
    principal.require_platform_admin()
    problems = Problems()
    cleaned = tenant_rules.check_name(problems, ("input", "name"), name)
    if cleaned and await repo.name_taken(session, cleaned):
        problems.add(
            ErrorCode.TAKEN, "A sponsor operator with this name exists.", ("input", "name")
        )
    problems.raise_if_any()
    return await repo.add(session, SponsorOperator(tenant_id=principal.tenant_id, name=cleaned))


async def effective_operator_ids(
    session: AsyncSession, tenant_ids: Sequence[int]
) -> dict[int, set[int]]:
    """The operators available to each tenant, in two statements for any number of tenants."""
    tenants, grants = await repo.lineage(session, tenant_ids)
    catalog: set[int] | None = None
    memo: dict[int, set[int]] = {}

    async def effective(tenant: Tenant) -> set[int]:
        nonlocal catalog
        if tenant.id in memo:
            return memo[tenant.id]
        if tenant.parent_id is None:
            if catalog is None:
                catalog = {op.id for op in await repo.all_operators(session)}
            result = set(catalog)
        else:
            result = set(grants.get(tenant.id, ()))
            if tenant.inherit_sponsor_operators:
                result |= await effective(tenants[tenant.parent_id])
        memo[tenant.id] = result
        return result

    return {tid: await effective(tenants[tid]) for tid in tenant_ids if tid in tenants}


async def grant_operators(
    session: AsyncSession,
    principal: Principal,
    tenant_id: int | None,
    operator_ids: Sequence[int],
) -> Tenant:
    tenant = (
        None if tenant_id is None else await tenants_repo.get(session, principal.scope, tenant_id)
    )
    if tenant is None:
        raise tenant_not_found(("input", "tenantId"))
    principal.require_admin()
    if tenant.parent_id is None:
        raise DomainError.one(
            ErrorCode.INVALID, "The platform has every operator already.", ("input", "tenantId")
        )
    if not principal.scope.is_strict_ancestor_of(tenant):
        raise DomainError.one(
            ErrorCode.FORBIDDEN,
            "Operators are granted by an admin of a tenant above.",
            ("input", "tenantId"),
        )
    parent_has = (await effective_operator_ids(session, [tenant.parent_id]))[tenant.parent_id]
    problems = Problems()
    for index, operator_id in enumerate(operator_ids):
        if operator_id not in parent_has:
            problems.add(
                ErrorCode.INVALID,
                "Only operators available to the parent tenant can be granted.",
                ("input", "sponsorOperatorIds", str(index)),
            )
    problems.raise_if_any()
    await repo.grant(session, tenant.id, list(dict.fromkeys(operator_ids)))
    return tenant

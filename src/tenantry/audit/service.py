"""Writing the audit log: every successful change, in the transaction that made it."""

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository as repo
from tenantry.audit.models import AuditEvent
from tenantry.auth.models import Impersonation
from tenantry.auth.principal import Principal
from tenantry.tenants.models import Tenant

# Inputs are kept for the record, but not whole usage batches (up to 10,000 records).
MAX_DETAILS = 4096


def _details(details: Any) -> str | None:
    if details is None:
        return None
    text = json.dumps(details, default=str, sort_keys=True)
    if len(text) > MAX_DETAILS:
        return json.dumps({"omitted": "input too large to keep", "bytes": len(text)})
    return text


def _target(result: Any) -> Any:
    # Mutations return the changed row, or a tuple whose first element is it.
    return result[0] if isinstance(result, tuple) and result else result


def _tenant_of(target: Any, principal: Principal) -> int:
    """The tenant whose log shows the change: the changed tenant, or the owner of the row."""
    if isinstance(target, Tenant):
        return target.id
    tenant_id = getattr(target, "tenant_id", None)
    return tenant_id if isinstance(tenant_id, int) else principal.tenant_id


async def record(
    session: AsyncSession, principal: Principal, action: str, result: Any, details: Any = None
) -> None:
    target = _target(result)
    target_id = getattr(target, "id", None)
    await repo.add(
        session,
        AuditEvent(
            tenant_id=_tenant_of(target, principal),
            actor_user_id=principal.user_id,
            impersonated_tenant_id=principal.impersonated_tenant_id,
            action=action,
            target_type=type(target).__name__ if target_id is not None else None,
            target_id=target_id if isinstance(target_id, int) else None,
            details=_details(details),
        ),
    )


async def record_impersonation_end(
    session: AsyncSession, impersonation: Impersonation, action: str
) -> None:
    """An impersonation no ``endImpersonation`` ended (it ran out, or its source token was
    revoked): its end goes in the impersonated tenant's log too."""
    await repo.add(
        session,
        AuditEvent(
            tenant_id=impersonation.tenant_id,
            actor_user_id=impersonation.actor_user_id,
            impersonated_tenant_id=impersonation.tenant_id,
            action=action,
            target_type="Impersonation",
            target_id=impersonation.id,
        ),
    )

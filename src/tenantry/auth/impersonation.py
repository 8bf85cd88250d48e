"""Impersonation: an admin acts as a tenant below them, for a while, with a reason."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth import repository as repo
from tenantry.auth.models import Impersonation
from tenantry.auth.principal import Principal
from tenantry.auth.service import utcnow
from tenantry.auth.tokens import IMPERSONATION_PREFIX, new_token, token_digest
from tenantry.core.errors import READ_ONLY, DomainError, ErrorCode, Problems, forbidden, not_found
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import TenantKind

MAX_MINUTES = 60


@dataclass(frozen=True)
class NewImpersonation:
    tenant_id: int
    reason: str
    read_only: bool = True
    minutes: int = 30


async def start(
    session: AsyncSession, principal: Principal, new: NewImpersonation
) -> tuple[Impersonation, str]:
    """Returns the impersonation and its token (shown once)."""
    if principal.impersonation_id is not None:
        raise forbidden("You are impersonating already: end it first, then start another.")
    tenant = await tenants_repo.get_billing_face(session, principal.scope, new.tenant_id)
    if tenant is None:
        raise tenant_not_found(("input", "tenantId"))
    principal.require_admin()
    if not principal.scope.is_strict_ancestor_of(tenant):
        raise forbidden(
            "Only an admin of a tenant above it may impersonate a tenant.", ("input", "tenantId")
        )
    if tenant.kind is TenantKind.MANAGED and not tenant.partner_access:
        raise forbidden(
            "This managed tenant has not turned partner access on.", ("input", "tenantId")
        )
    problems = Problems()
    reason = new.reason.strip()
    if not reason:
        problems.add(ErrorCode.INVALID, "Say why you are impersonating.", ("input", "reason"))
    if not 1 <= new.minutes <= MAX_MINUTES:
        problems.add(
            ErrorCode.INVALID, f"Minutes must be 1 to {MAX_MINUTES}.", ("input", "minutes")
        )
    problems.raise_if_any()

    now = utcnow()
    secret = new_token(IMPERSONATION_PREFIX)
    impersonation = Impersonation(
        tenant_id=tenant.id,
        actor_user_id=principal.user_id,
        actor_tenant_id=principal.tenant_id,
        reason=reason,
        read_only=new.read_only,
        source_token_id=principal.token_id,
        token_hash=token_digest(secret),
        started_at=now,
        # Not extendable: a new impersonation needs a new start (and a new audit entry).
        expires_at=now + timedelta(minutes=new.minutes),
    )
    await repo.add(session, impersonation)
    return impersonation, secret


async def end(session: AsyncSession, principal: Principal, impersonation_id: int) -> Impersonation:
    """Ends it at once (its token stops working); only the person who started it may.

    From inside an impersonation only that impersonation can be ended: its token acts as
    the impersonated tenant, not as the person, so it cannot end their other ones (and a
    read-only token changes nothing but this)."""
    impersonation = await repo.get_impersonation(session, impersonation_id, for_update=True)
    if impersonation is None or impersonation.actor_user_id != principal.user_id:
        raise not_found(("input", "id"), "impersonation")
    if principal.impersonation_id not in (None, impersonation.id):
        if principal.read_only:
            raise DomainError([READ_ONLY])
        raise forbidden("From inside an impersonation you can end only that impersonation.")
    if impersonation.ended_at is None:
        impersonation.ended_at = min(utcnow(), impersonation.expires_at)
        await session.flush()
    return impersonation

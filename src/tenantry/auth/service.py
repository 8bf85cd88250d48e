"""Rules for users and API tokens, and turning a bearer token into a principal."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import service as audit
from tenantry.auth import repository as repo
from tenantry.auth.errors import email_taken, token_not_found, user_not_found
from tenantry.auth.models import ApiToken, Role, User
from tenantry.auth.principal import Principal
from tenantry.auth.tokens import IMPERSONATION_PREFIX, new_token, token_digest
from tenantry.core.errors import ErrorCode, Problems
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants import rules as tenant_rules
from tenantry.tenants import service as tenants
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import Tenant

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def authenticate(session: AsyncSession, token: str) -> Principal | None:
    """The principal behind an API token or a live impersonation token; None otherwise."""
    impersonating = token.startswith(IMPERSONATION_PREFIX)
    fields = await repo.principal_fields(
        session, token_digest(token), utcnow(), impersonating=impersonating
    )
    return None if fields is None else principal_of(fields)


async def authenticate_on(connection: asyncpg.Connection, token: str) -> Principal | None:
    """``authenticate`` on a bare driver connection: one statement, no transaction."""
    impersonating = token.startswith(IMPERSONATION_PREFIX)
    fields = await repo.principal_fields_on(
        connection, token_digest(token), utcnow(), impersonating=impersonating
    )
    return None if fields is None else principal_of(fields)


def principal_of(fields: Mapping[str, Any]) -> Principal:
    """The principal of a row of ``repo.principal_sql``'s statement."""
    impersonation_id = fields["impersonation_id"]
    if impersonation_id is not None:
        return Principal(
            user_id=fields["user_id"],
            tenant_id=fields["tenant_id"],
            role=Role.ADMIN,
            is_platform=False,  # only tenants strictly below the actor can be impersonated
            token_id=fields["token_id"],
            is_partner=fields["is_partner"],
            impersonation_id=impersonation_id,
            read_only=fields["read_only"],
        )
    return Principal(
        user_id=fields["user_id"],
        tenant_id=fields["tenant_id"],
        role=Role(fields["role"]),
        is_platform=fields["parent_id"] is None,
        token_id=fields["token_id"],
        is_partner=fields["is_partner"],
    )


@dataclass(frozen=True)
class NewUser:
    tenant_id: int | None
    email: str
    name: str
    role: Role


async def create_user(session: AsyncSession, principal: Principal, new: NewUser) -> User:
    # A partner's admins may add users to its managed tenants: that is how a managed tenant
    # gets its first admin (and the managed tenant's audit log shows it).
    tenant = (
        None
        if new.tenant_id is None
        else await tenants_repo.get_billing_face(session, principal.scope, new.tenant_id)
    )
    if tenant is None:
        raise tenant_not_found(("input", "tenantId"))
    principal.require_admin()

    problems = Problems()
    email = new.email.strip()
    name = tenant_rules.check_name(problems, ("input", "name"), new.name)
    if not EMAIL_RE.fullmatch(email) or len(email) > 320:
        problems.add(ErrorCode.INVALID, "Enter a valid email address.", ("input", "email"))
    elif await repo.email_exists(session, tenant.id, email):
        problems.items.extend(email_taken(("input", "email")).problems)
    problems.raise_if_any()

    user = User(tenant_id=tenant.id, email=email, name=name, role=new.role)
    await repo.add(session, user)
    return user


@dataclass(frozen=True)
class NewApiToken:
    user_id: int | None
    name: str
    expires_at: datetime | None = None


async def create_api_token(
    session: AsyncSession, principal: Principal, new: NewApiToken
) -> tuple[ApiToken, str]:
    """Returns the stored token and its secret, which is never available again."""
    user = (
        None if new.user_id is None else await repo.get_user(session, principal.scope, new.user_id)
    )
    if user is None:
        raise user_not_found(("input", "userId"))
    principal.require_admin()

    problems = Problems()
    name = tenant_rules.check_name(problems, ("input", "name"), new.name)
    if new.expires_at is not None and (new.expires_at.tzinfo is None or new.expires_at <= utcnow()):
        problems.add(
            ErrorCode.INVALID,
            "Expiry must be a future time with an offset.",
            ("input", "expiresAt"),
        )
    problems.raise_if_any()
    return await _mint(session, user, name, new.expires_at)


async def _mint(
    session: AsyncSession, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    secret = new_token()
    api_token = ApiToken(
        user_id=user.id,
        tenant_id=user.tenant_id,
        name=name,
        token_hash=token_digest(secret),
        expires_at=expires_at,
    )
    await repo.add(session, api_token)
    return api_token, secret


async def revoke_api_token(
    session: AsyncSession, principal: Principal, token_id: int | None
) -> ApiToken:
    api_token = (
        None
        if token_id is None
        else await repo.get_token(session, principal.scope, token_id, for_update=True)
    )
    if api_token is None:
        raise token_not_found(("input", "id"))
    principal.require_admin()
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        await session.flush()
        # Impersonations die with the token that started them (authentication checks the
        # token too; ending them here makes their endedAt and the logs say so).
        for ended in await repo.end_impersonations_from_token(
            session, api_token.id, api_token.revoked_at
        ):
            await audit.record_impersonation_end(session, ended, "impersonationRevoked")
    return api_token


@dataclass(frozen=True)
class Bootstrap:
    root: Tenant
    admin: User
    token: str | None
    created: bool


async def bootstrap_platform(
    session: AsyncSession,
    *,
    name: str,
    moniker: str,
    currency: str,
    admin_email: str,
    mint: bool = True,
) -> Bootstrap:
    """Create the root tenant and a platform admin when missing.

    Mints a platform-admin token when ``mint`` is set or when anything was created (a fresh
    platform must hand out its first token, or nobody could ever get in).
    """
    root = await tenants_repo.get_root(session)
    created = root is None
    if root is None:
        root = await tenants.create_root(session, name=name, moniker=moniker, currency=currency)
    admin = await repo.first_admin(session, root.id)
    if admin is None:
        created = True
        admin = User(tenant_id=root.id, email=admin_email, name="Platform admin", role=Role.ADMIN)
        await repo.add(session, admin)
    secret = None
    if mint or created:
        _, secret = await _mint(session, admin, f"bootstrap {utcnow():%Y-%m-%d %H:%M:%S}")
    return Bootstrap(root=root, admin=admin, token=secret, created=created)

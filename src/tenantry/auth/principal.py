"""Who a request acts as: the tenant, the role, and the real user behind it."""

from dataclasses import dataclass

from tenantry.auth.models import Role
from tenantry.auth.scope import Scope
from tenantry.core.errors import forbidden


@dataclass(frozen=True)
class Principal:
    # The real person (also while impersonating), and the tenant the request acts as.
    user_id: int
    tenant_id: int
    role: Role
    is_platform: bool
    token_id: int
    is_partner: bool = False
    impersonation_id: int | None = None
    read_only: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(
            tenant_id=self.tenant_id,
            sees_all=self.is_platform,
            partner_admin=self.is_partner and self.role is Role.ADMIN,
        )

    @property
    def impersonated_tenant_id(self) -> int | None:
        return self.tenant_id if self.impersonation_id is not None else None

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise forbidden("Your role may not change anything here.")

    def require_platform_admin(self) -> None:
        self.require_admin()
        if not self.is_platform:
            raise forbidden("Only platform admins may do this.")

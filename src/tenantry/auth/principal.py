"""Who a request acts as: the tenant, the role, and the real user behind it."""

from dataclasses import dataclass

from tenantry.auth.models import Role
from tenantry.auth.scope import Scope
from tenantry.core.errors import forbidden


@dataclass(frozen=True)
class Principal:
    user_id: int
    tenant_id: int
    role: Role
    is_platform: bool
    token_id: int

    @property
    def scope(self) -> Scope:
        return Scope(tenant_id=self.tenant_id, sees_all=self.is_platform)

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise forbidden("Your role may not change anything here.")

    def require_platform_admin(self) -> None:
        self.require_admin()
        if not self.is_platform:
            raise forbidden("Only platform admins may do this.")

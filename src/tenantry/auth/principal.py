"""Who a request acts as: the tenant, the role, and the real user behind it."""

from dataclasses import dataclass

from tenantry.auth.models import Role
from tenantry.auth.scope import Scope
from tenantry.core.errors import forbidden
from tenantry.tenants.models import Tenant


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

    def lists_managed_tenants_of(self, partner_id: int) -> bool:
        """Only the partner's own admins see (and use) its managed tenants."""
        return self.is_partner and self.tenant_id == partner_id and self.role is Role.ADMIN

    @property
    def reads_audit_logs(self) -> bool:
        """Admins read the logs of the workspaces they see (``reads_audit_log_of``)."""
        return self.role is Role.ADMIN

    def reads_audit_log_of(self, tenant: Tenant) -> bool:
        """A tenant's log is for the admins of that tenant and of the tenants above it."""
        return self.reads_audit_logs and self.scope.sees_workspace_of(tenant)

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise forbidden("Your role may not change anything here.")

    def require_platform_admin(self) -> None:
        self.require_admin()
        if not self.is_platform:
            raise forbidden("Only platform admins may do this.")

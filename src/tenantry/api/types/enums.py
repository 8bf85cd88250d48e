"""Domain enums exposed to GraphQL under their own names."""

import strawberry

from tenantry.auth.models import Role
from tenantry.partners.models import PlanKind
from tenantry.tenants.models import SubscriptionType, TenantKind

strawberry.enum(Role, description="ADMIN may change things; VIEWER only reads.")
strawberry.enum(TenantKind, description="How a tenant hangs under its parent.")
strawberry.enum(SubscriptionType)
strawberry.enum(PlanKind, description="TENANT: the workspace tier; SUPPORT: the support tier.")

__all__ = ["PlanKind", "Role", "SubscriptionType", "TenantKind"]

"""The one scope helper. Every read of tenant data goes through a ``Scope``.

Acting as tenant T, a request sees T and every tenant below it through sub-tenant edges
(``tenants.scope_path`` contains T); acting as the root, it sees everything. Nothing else
in the code writes its own tenant filter.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.tenants.models import Tenant


@dataclass(frozen=True)
class Scope:
    tenant_id: int
    sees_all: bool = False

    def tenants(self) -> sa.ColumnElement[bool]:
        """Filter on ``tenants`` rows: the tenants this scope may see."""
        if self.sees_all:
            return sa.true()
        return Tenant.scope_path.contains(sa.literal([self.tenant_id], Tenant.scope_path.type))

    def owned_by_visible_tenant(
        self, tenant_id_column: InstrumentedAttribute[Any]
    ) -> sa.ColumnElement[bool]:
        """Filter on any table with a tenant column: rows of tenants this scope may see."""
        if self.sees_all:
            return sa.true()
        return tenant_id_column.in_(sa.select(Tenant.id).where(self.tenants()))

    def billing_of(self, tenant_id_column: InstrumentedAttribute[Any]) -> sa.ColumnElement[bool]:
        """Filter on billing rows owned by a tenant (plans, invoices): those of tenants in
        scope. (A partner's billing data is its own, so ordinary scope applies.)"""
        return self.owned_by_visible_tenant(tenant_id_column)

    def is_strict_ancestor_of(self, tenant: Tenant) -> bool:
        """Whether the acting tenant sits above ``tenant`` (and so may manage it)."""
        return tenant.id != self.tenant_id and (
            self.sees_all or self.tenant_id in tenant.scope_path
        )

"""The one scope helper. Every read of tenant data goes through a ``Scope``.

Acting as tenant T, a request sees T and every tenant below it through sub-tenant edges
(``tenants.scope_path`` contains T); acting as the root, it sees everything. A managed
tenant starts a scope of its own; when it turns partner access on, its partner joins its
``scope_path`` and so sees its workspace too.

Without partner access, a partner's admins see only the *billing face* of its managed
tenants: the tenant itself (name, moniker, country, plans) and its own account's balance,
never its workspace (customers, users, usage...). ``billing_faces()`` finds those tenants;
``BILLING_FACE`` names what of them shows, and ``sees_field_of`` is the one rule that
decides each field of a tenant.

Tariffs are read more widely than they are owned: ``tariffs()`` adds, read-only, the tariffs
the tenants in scope pay (a sub-tenant's tenant tariff is its parent's) and that their
customers pay (their owner may be an ancestor), without the rest of their owners' data.

Nothing else in the code writes its own tenant filter.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.customers.models import Customer
from tenantry.tenants.models import Tenant, TenantKind

# The fields of a tenant its billing face shows (GraphQL names, in snake case): who it is,
# the plans it is billed for, its account's balance, and the facts of its place that its
# partner set up itself (kind, depth, currency and billing entity are the partner's; the
# parent is the partner). Every other field answers null or empty there, any field added
# later included (``api/types/tenant.py: BillingFaceOnly``).
BILLING_FACE = frozenset(
    {
        "id",
        "name",
        "moniker",
        "kind",
        "depth",
        "is_partner",
        "currency",
        "country",
        "partner_access",
        "created_at",
        "parent",
        "billing_entity",
        "tenant_plan",
        "support_plan",
        "account",
        "setting_sources",
    }
)


def workspace_of(tenant_id: Any) -> sa.ColumnElement[bool]:
    """Filter on ``tenants`` rows: what the own users of the tenant ``tenant_id`` (a value or
    a SQL expression) see, as ``Scope.tenants`` says for a scope that is not the platform's.
    For what is built for a tenant rather than for a caller (a report in its section)."""
    return Tenant.scope_path.contains(pg_array([sa.type_coerce(tenant_id, sa.BigInteger)]))


@dataclass(frozen=True)
class Scope:
    tenant_id: int
    sees_all: bool = False
    # Acting as a partner tenant with the ADMIN role: sees its managed tenants' billing faces.
    partner_admin: bool = False

    def tenants(self) -> sa.ColumnElement[bool]:
        """Filter on ``tenants`` rows: the tenants this scope may see."""
        if self.sees_all:
            return sa.true()
        return Tenant.scope_path.contains(sa.literal([self.tenant_id], Tenant.scope_path.type))

    def billing_faces(self) -> sa.ColumnElement[bool]:
        """Filter on ``tenants``: those in scope, plus the billing faces of managed tenants."""
        if self.sees_all or not self.partner_admin:
            return self.tenants()
        managed = sa.and_(Tenant.kind == TenantKind.MANAGED, Tenant.parent_id == self.tenant_id)
        return sa.or_(self.tenants(), managed)

    def sees_workspace_of(self, tenant: Tenant) -> bool:
        """Whether the tenant is in full scope (not just visible as a billing face)."""
        return self.sees_all or self.tenant_id in tenant.scope_path

    def sees_field_of(self, tenant: Tenant, field: str) -> bool:
        """Whether a field of the tenant shows: its whole workspace, or its billing face."""
        return field in BILLING_FACE or self.sees_workspace_of(tenant)

    def tenant_accounts(
        self, tenant_id_column: InstrumentedAttribute[Any], tenant_owned: sa.ColumnElement[bool]
    ) -> sa.ColumnElement[bool]:
        """Filter on accounts: those of tenants in scope, and the tenant-owned accounts of
        billing faces (a partner sees its managed tenants' balances, not their customers')."""
        visible = self.owned_by_visible_tenant(tenant_id_column)
        if self.sees_all or not self.partner_admin:
            return visible
        faces = sa.select(Tenant.id).where(self.billing_faces())
        return sa.or_(visible, sa.and_(tenant_owned, tenant_id_column.in_(faces)))

    def owned_by_visible_tenant(
        self, tenant_id_column: InstrumentedAttribute[Any]
    ) -> sa.ColumnElement[bool]:
        """Filter on any table with a tenant column: rows of tenants this scope may see."""
        if self.sees_all:
            return sa.true()
        return tenant_id_column.in_(sa.select(Tenant.id).where(self.tenants()))

    def tariffs(
        self,
        tariff_id_column: InstrumentedAttribute[Any],
        owner_id_column: InstrumentedAttribute[Any],
    ) -> sa.ColumnElement[bool]:
        """Filter on tariffs: those this scope may read. The tariffs of tenants in scope,
        and those a tenant in scope pays or has its customers pay: its tenant tariff (owned
        by its parent), its default customer tariff and its customers' tariffs (owned by it
        or an ancestor). Reading is all: what a tenant may assign or change is what it owns
        (``owned_by_visible_tenant``), and a tariff's owner shows only when it is visible.
        """
        if self.sees_all:
            return sa.true()
        paid_by_tenant = (
            sa.select(Tenant.id)
            .where(
                sa.or_(
                    Tenant.tenant_tariff_id == tariff_id_column,
                    Tenant.default_customer_tariff_id == tariff_id_column,
                ),
                self.tenants(),
            )
            .exists()
        )
        paid_by_customer = (
            sa.select(Customer.id)
            .where(
                Customer.tariff_id == tariff_id_column,
                self.owned_by_visible_tenant(Customer.tenant_id),
            )
            .exists()
        )
        return sa.or_(
            self.owned_by_visible_tenant(owner_id_column), paid_by_tenant, paid_by_customer
        )

    def billing_of(self, tenant_id_column: InstrumentedAttribute[Any]) -> sa.ColumnElement[bool]:
        """Filter on billing rows owned by a tenant (plans, invoices): those of tenants in
        scope. (A partner's billing data is its own, so ordinary scope applies.)"""
        return self.owned_by_visible_tenant(tenant_id_column)

    def is_strict_ancestor_of(self, tenant: Tenant) -> bool:
        """Whether the acting tenant sits above ``tenant`` (and so may manage it)."""
        return tenant.id != self.tenant_id and (
            self.sees_all or self.tenant_id in tenant.scope_path
        )

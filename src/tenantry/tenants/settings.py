"""Where a tenant's inherited settings come from: its own value, or which ancestor's.

Read from the tenant's path (ancestors included); callers show an ancestor only when the
viewer may see it.
"""

from dataclasses import dataclass

from tenantry.tenants.models import Tenant, TenantKind


@dataclass(frozen=True)
class SettingSource:
    name: str
    value: str | None
    # The tenant the value is taken from (the tenant itself when it is its own).
    source_id: int | None
    locked: bool = False

    def inherited_by(self, tenant: Tenant) -> bool:
        return self.source_id is not None and self.source_id != tenant.id


def setting_sources(tenant: Tenant, lineage: dict[int, Tenant]) -> list[SettingSource]:
    """``lineage`` holds the tenant's ancestors (as ``path`` lists them) and itself."""
    parent = lineage.get(tenant.parent_id) if tenant.parent_id is not None else None
    managed = tenant.kind is TenantKind.MANAGED
    # A sub-tenant takes its parent's currency unless given one; a managed tenant always
    # has its partner's (and cannot change it).
    currency_from = (
        parent.id if parent is not None and parent.currency == tenant.currency else tenant.id
    )
    top_up_from = next(
        (
            lineage[t].id
            for t in reversed(tenant.path)
            if t in lineage and lineage[t].customer_top_up_url
        ),
        None,
    )
    return [
        SettingSource("currency", tenant.currency, currency_from, locked=managed),
        SettingSource(
            "customerTopUpUrl",
            None if top_up_from is None else lineage[top_up_from].customer_top_up_url,
            top_up_from,
        ),
        SettingSource(
            "sponsorOperators",
            "own grants and the parent's" if tenant.inherit_sponsor_operators else "own grants",
            parent.id if parent is not None and tenant.inherit_sponsor_operators else tenant.id,
        ),
        SettingSource(
            "billingEntity",
            None if tenant.billing_entity_id is None else str(tenant.billing_entity_id),
            parent.id if managed and parent is not None else tenant.id,
            locked=managed,
        ),
    ]

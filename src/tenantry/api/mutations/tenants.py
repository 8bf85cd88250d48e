"""Tenant mutations."""

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id, decode_optional_id
from tenantry.api.types.enums import SubscriptionType
from tenantry.api.types.tenant import TenantType, to_gql_tenant
from tenantry.core.change import KEEP, Change
from tenantry.tenants import service
from tenantry.tenants.service import NewSubTenant, TenantChanges


@strawberry.input
class CreateSubTenantInput:
    parent_id: strawberry.ID
    name: str
    moniker: str
    subscription_types: list[SubscriptionType]
    inherit_sponsor_operators: bool = False
    customer_top_up_url: str | None = None
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217; the parent's currency when left out."
    )
    default_customer_tariff_id: strawberry.ID | None = None
    tenant_tariff_id: strawberry.ID | None = None

    def to_command(self) -> NewSubTenant:
        return NewSubTenant(
            parent_id=decode_id(self.parent_id, "Tenant"),
            name=self.name,
            moniker=self.moniker,
            subscription_types=self.subscription_types,
            inherit_sponsor_operators=self.inherit_sponsor_operators,
            customer_top_up_url=self.customer_top_up_url,
            currency=self.currency,
            tenant_tariff_id=decode_optional_id(self.tenant_tariff_id, "Tariff"),
            default_customer_tariff_id=decode_optional_id(
                self.default_customer_tariff_id, "Tariff"
            ),
        )


@strawberry.input(description="Fields left out stay as they are; null clears where allowed.")
class UpdateTenantInput:
    id: strawberry.ID
    name: str | None = None
    moniker: str | None = None
    subscription_types: list[SubscriptionType] | None = None
    inherit_sponsor_operators: bool | None = None
    customer_top_up_url: strawberry.Maybe[str | None]
    partner_access: bool | None = None
    default_customer_tariff_id: strawberry.Maybe[strawberry.ID | None]
    tenant_tariff_id: strawberry.Maybe[strawberry.ID | None]
    country: str | None = None
    currency: str | None = strawberry.field(
        default=None, description="Always LOCKED: a tenant's account is kept in its currency."
    )
    billing_entity_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="Platform admins; LOCKED for managed tenants (their partner's)."
    )
    tenant_plan_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Managed tenants: from the partner's catalog, from this second on.",
    )
    support_plan_id: strawberry.ID | None = None

    def to_command(self) -> TenantChanges:
        return TenantChanges(
            tenant_id=decode_id(self.id, "Tenant"),
            name=self.name,
            moniker=self.moniker,
            subscription_types=self.subscription_types,
            inherit_sponsor_operators=self.inherit_sponsor_operators,
            customer_top_up_url=KEEP
            if self.customer_top_up_url is None
            else self.customer_top_up_url.value,
            partner_access=self.partner_access,
            tenant_tariff_id=_id_change(self.tenant_tariff_id, "Tariff"),
            default_customer_tariff_id=_id_change(self.default_customer_tariff_id, "Tariff"),
            country=self.country,
            currency=self.currency,
            billing_entity_id=_id_change(self.billing_entity_id, "BillingEntity"),
            tenant_plan_id=decode_optional_id(self.tenant_plan_id, "Plan"),
            support_plan_id=decode_optional_id(self.support_plan_id, "Plan"),
        )


def _id_change(value: strawberry.Maybe[strawberry.ID | None], type_name: str) -> Change[int | None]:
    """Left out: keep; null: clear; an id: that object (or UNKNOWN_ID for a bad one)."""
    if value is None:
        return KEEP
    return decode_optional_id(value.value, type_name)


@strawberry.type
class TenantPayload:
    tenant: TenantType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TenantMutations:
    @strawberry.mutation(description="Create a tenant under one you administer.")
    async def create_sub_tenant(self, info: Info, input: CreateSubTenantInput) -> TenantPayload:
        command = input.to_command()
        return await mutate(
            info,
            lambda session, actor: service.create_sub_tenant(session, actor, command),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

    @strawberry.mutation(description="Edit a tenant; the same rules as creating apply.")
    async def update_tenant(self, info: Info, input: UpdateTenantInput) -> TenantPayload:
        command = input.to_command()
        return await mutate(
            info,
            lambda session, actor: service.update_tenant(session, actor, command),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

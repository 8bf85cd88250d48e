"""Partner mutations: the partner flag, billing entities, plans, managed tenants."""

from decimal import Decimal

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.mutations.tenants import TenantPayload
from tenantry.api.relay import decode_id, decode_optional_id
from tenantry.api.roles import requires
from tenantry.api.types.enums import PlanKind
from tenantry.api.types.partner import (
    BillingEntityType,
    PlanType,
    to_gql_billing_entity,
    to_gql_plan,
)
from tenantry.api.types.tenant import to_gql_tenant
from tenantry.auth.principal import Principal
from tenantry.partners import service
from tenantry.partners.service import NewManagedTenant, NewPlan


@strawberry.input(description="Turn a tenant's partner flag on or off.")
class SetPartnerInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="The tenant; a managed tenant can never be a partner."
    )
    is_partner: bool = strawberry.field(
        description="True: a partner; false is refused while it has managed tenants."
    )
    billing_entity_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The entity issuing its invoices: required to turn the flag on, unless "
        "the tenant has one already.",
    )


@strawberry.input(description="A new legal entity of the platform that issues invoices.")
class CreateBillingEntityInput:
    name: str = strawberry.field(description="Its legal name: unique, up to 200 characters.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    code: str | None = strawberry.field(
        default=None,
        description="Invoice number prefix: 2-10 uppercase letters or digits, unique. "
        'Default: the name\'s first three letters or digits ("Phystack Ltd" -> "PHY"), '
        "with a number appended when taken.",
    )


@strawberry.input(description="A new entry of a partner's plan catalog.")
class CreatePlanInput:
    partner_id: strawberry.ID = strawberry.field(description="The partner whose catalog.")
    kind: PlanKind = strawberry.field(description="TENANT (workspace) or SUPPORT tier.")
    name: str = strawberry.field(description="Up to 200 characters.")
    monthly_price: Decimal = strawberry.field(
        description="Per month, in the partner's currency: zero or more, at most 10^12, with "
        "no more decimal places than the currency has."
    )


@strawberry.input(description="A new managed tenant under a partner.")
class CreateManagedTenantInput:
    partner_id: strawberry.ID = strawberry.field(
        description="The partner: your tenant, as its admin."
    )
    display_name: str = strawberry.field(description="Its name; up to 200 characters.")
    moniker: str = strawberry.field(
        description="Globally unique: 1-63 lowercase letters, digits, '_' or '-'."
    )
    country: str = strawberry.field(
        description="ISO 3166-1 alpha-2; may differ from the partner's."
    )
    tenant_plan_id: strawberry.ID = strawberry.field(
        description="A TENANT plan from the partner's catalog."
    )
    support_plan_id: strawberry.ID = strawberry.field(
        description="A SUPPORT plan from the partner's catalog."
    )


@strawberry.type(description="What createBillingEntity answers: the entity, or why not.")
class BillingEntityPayload:
    billing_entity: BillingEntityType | None = strawberry.field(
        default=None, description="The new billing entity; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="What createPlan answers: the plan, or why not.")
class PlanPayload:
    plan: PlanType | None = strawberry.field(
        default=None, description="The new plan; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(description="Platform admins: make a tenant a partner (or not).")
    async def set_partner(self, info: Info, input: Input[SetPartnerInput]) -> TenantPayload:
        tenant_id = decode_id(input.tenant_id, "Tenant")
        entity_id = decode_optional_id(input.billing_entity_id, "BillingEntity")
        return await mutate(
            info,
            lambda session, actor: service.set_partner(
                session, actor, tenant_id, input.is_partner, entity_id
            ),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

    @strawberry.mutation(
        description="Platform admins: add a legal entity that issues invoices.",
        metadata=requires(Principal.require_platform_admin),
    )
    async def create_billing_entity(
        self, info: Info, input: Input[CreateBillingEntityInput]
    ) -> BillingEntityPayload:
        return await mutate(
            info,
            lambda session, actor: service.create_billing_entity(
                session, actor, input.name, input.country, input.code
            ),
            lambda row: BillingEntityPayload(billing_entity=to_gql_billing_entity(row)),
            BillingEntityPayload,
        )

    @strawberry.mutation(description="Platform admins: add a plan to a partner's catalog.")
    async def create_plan(self, info: Info, input: Input[CreatePlanInput]) -> PlanPayload:
        command = NewPlan(
            decode_id(input.partner_id, "Tenant"), input.kind, input.name, input.monthly_price
        )
        return await mutate(
            info,
            lambda session, actor: service.create_plan(session, actor, command),
            lambda row: PlanPayload(plan=to_gql_plan(row)),
            PlanPayload,
        )

    @strawberry.mutation(
        description="A partner's admins: create a managed tenant, billed from this second."
    )
    async def create_managed_tenant(
        self, info: Info, input: Input[CreateManagedTenantInput]
    ) -> TenantPayload:
        command = NewManagedTenant(
            partner_id=decode_id(input.partner_id, "Tenant"),
            display_name=input.display_name,
            moniker=input.moniker,
            country=input.country,
            tenant_plan_id=decode_id(input.tenant_plan_id, "Plan"),
            support_plan_id=decode_id(input.support_plan_id, "Plan"),
        )
        return await mutate(
            info,
            lambda session, actor: service.create_managed_tenant(session, actor, command),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

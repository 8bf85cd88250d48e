"""Tenant mutations."""

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id, decode_optional_id
from tenantry.api.types.enums import SubscriptionType
from tenantry.api.types.tenant import TenantType, to_gql_tenant
from tenantry.auth.principal import Principal
from tenantry.core.change import KEEP, Change
from tenantry.tenants import move, service
from tenantry.tenants.models import Tenant
from tenantry.tenants.move import MoveOutcome, MoveRequest
from tenantry.tenants.service import NewSubTenant, TenantChanges

NAME = "Up to 200 characters; spaces around it are dropped."
MONIKER = "Globally unique: 1-63 lowercase letters, digits, '_' or '-' (uppercase is refused)."
TOP_UP_URL = (
    "The template of its customers' top-up links: an absolute http(s) URL with tokens among "
    "{customer_id}, {customer_name}, {tenant_id}, {tenant_moniker}, {account_id}, {balance}, "
    "{currency}, {expires}, {signature} (see the README)."
)
DEFAULT_CUSTOMER_TARIFF = (
    "Given to its new customers that name no tariff: one it or a tenant above owns, in its "
    "currency."
)
TENANT_TARIFF = "What its parent charges it for usage: a tariff the parent owns, in its currency."


@strawberry.input(description="A new sub-tenant; its account opens with it.")
class CreateSubTenantInput:
    parent_id: strawberry.ID = strawberry.field(
        description="The tenant to create it under: yours, or one below it."
    )
    name: str = strawberry.field(description=NAME)
    moniker: str = strawberry.field(description=MONIKER)
    subscription_types: list[SubscriptionType] = strawberry.field(
        description="The subscription types its customers may have; must include INTEGRATED."
    )
    inherit_sponsor_operators: bool = strawberry.field(
        default=False,
        description="True: every operator of the parent is available to it too, beside those "
        "granted to it.",
    )
    customer_top_up_url: str | None = strawberry.field(
        default=None,
        description=TOP_UP_URL + " A new tenant has no top-up secret, so it cannot hold "
        "{signature} yet. Null: none (its customers use the nearest ancestor's).",
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217; the parent's currency when left out."
    )
    default_customer_tariff_id: strawberry.ID | None = strawberry.field(
        default=None, description=DEFAULT_CUSTOMER_TARIFF + " Null: none."
    )
    tenant_tariff_id: strawberry.ID | None = strawberry.field(
        default=None, description=TENANT_TARIFF + " Null: free."
    )

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
    id: strawberry.ID = strawberry.field(description="The tenant to change.")
    name: str | None = strawberry.field(default=None, description=NAME)
    moniker: str | None = strawberry.field(default=None, description=MONIKER)
    subscription_types: list[SubscriptionType] | None = strawberry.field(
        default=None, description="The whole new set; must include INTEGRATED."
    )
    inherit_sponsor_operators: bool | None = strawberry.field(
        default=None, description="True: the parent's operators are available to it too."
    )
    customer_top_up_url: strawberry.Maybe[str | None] = strawberry.field(
        description=TOP_UP_URL + " {signature} needs the tenant's top-up secret "
        "(rotateTopUpSecret). Null or empty: none."
    )
    partner_access: bool | None = strawberry.field(
        default=None,
        description="A managed tenant lets its partner into its workspace (true) or shuts it "
        "out: the managed tenant's choice, which its partner cannot make.",
    )
    default_customer_tariff_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description=DEFAULT_CUSTOMER_TARIFF + " Null: none."
    )
    tenant_tariff_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description=TENANT_TARIFF + " Set by an admin of a tenant above it. Null: free."
    )
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code.")
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
    support_plan_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Managed tenants: from the partner's catalog, from this second on.",
    )

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


@strawberry.input(description="Moves a sub-tenant and everything under it to another parent.")
class MoveTenantInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="The sub-tenant to move; you must be an admin of a tenant above it."
    )
    new_parent_id: strawberry.ID = strawberry.field(
        description="Its new parent: not itself or a tenant below it (CYCLE), in the same currency."
    )
    tenant_tariff_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The new parent's tariff the tenant pays from now on; without it, a "
        "tenant tariff the new parent does not own is cleared.",
    )
    dry_run: bool | None = strawberry.field(
        default=True,
        description="Only list the changes and problems (the default; null is a dry run too).",
    )

    def to_command(self) -> MoveRequest:
        return MoveRequest(
            tenant_id=decode_id(self.tenant_id, "Tenant"),
            new_parent_id=decode_id(self.new_parent_id, "Tenant"),
            tenant_tariff_id=decode_optional_id(self.tenant_tariff_id, "Tariff"),
            dry_run=self.dry_run is not False,
        )


@strawberry.type(description="The outcome of a move, or what it would be (dry run).")
class MoveTenantPayload:
    tenant: TenantType | None = strawberry.field(
        default=None,
        description="The tenant: after the move, or as it is now for a dry run; null when "
        "the input was refused outright.",
    )
    dry_run: bool = strawberry.field(
        default=True, description="True: nothing was changed; this is what a move would do."
    )
    changes: list[str] = strawberry.field(
        default_factory=list,
        description="One line per consequence a person must know before confirming.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)

    @classmethod
    def of(cls, outcome: MoveOutcome) -> "MoveTenantPayload":
        return cls(
            tenant=to_gql_tenant(outcome.tenant),
            dry_run=outcome.dry_run,
            changes=outcome.changes,
            user_errors=[UserError.from_problem(p) for p in outcome.problems],
        )


@strawberry.input(description="Whose top-up secret to replace.")
class RotateTopUpSecretInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="The tenant: yours (as an admin) or one below it."
    )


@strawberry.type(description="What rotateTopUpSecret answers: the new secret, or why not.")
class RotateTopUpSecretPayload:
    secret: str | None = strawberry.field(
        default=None, description="Shown this once; it can never be read back."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(
    description="What a mutation that creates or changes a tenant answers: the tenant, or why not."
)
class TenantPayload:
    tenant: TenantType | None = strawberry.field(
        default=None, description="The tenant as it is now; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class TenantMutations:
    @strawberry.mutation(description="Create a tenant under one you administer.")
    async def create_sub_tenant(
        self, info: Info, input: Input[CreateSubTenantInput]
    ) -> TenantPayload:
        command = input.to_command()
        return await mutate(
            info,
            lambda session, actor: service.create_sub_tenant(session, actor, command),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

    @strawberry.mutation(
        description="Edit a tenant (admins of it or above; a partner's admins may change a "
        "managed tenant's name, country and plans); the same rules as creating apply."
    )
    async def update_tenant(self, info: Info, input: Input[UpdateTenantInput]) -> TenantPayload:
        command = input.to_command()
        return await mutate(
            info,
            lambda session, actor: service.update_tenant(session, actor, command),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

    @strawberry.mutation(
        description="Move a sub-tenant with its sub-tree under another parent (admins of a "
        "tenant above both places). A dry run unless dryRun is false."
    )
    async def move_tenant(self, info: Info, input: Input[MoveTenantInput]) -> MoveTenantPayload:
        command = input.to_command()
        payload = await mutate(
            info,
            lambda session, actor: _moved(session, actor, command),
            lambda result: MoveTenantPayload.of(result[1]),
            MoveTenantPayload,
            allowed_read_only=command.dry_run,
            audited=lambda result: not result[1].dry_run,
        )
        payload.dry_run = command.dry_run
        return payload

    @strawberry.mutation(
        description="A new key for the tenant's signed top-up links (admins of the tenant or "
        "above); shown once, never readable again."
    )
    async def rotate_top_up_secret(
        self, info: Info, input: Input[RotateTopUpSecretInput]
    ) -> RotateTopUpSecretPayload:
        tenant_id = decode_id(input.tenant_id, "Tenant")
        return await mutate(
            info,
            lambda session, actor: service.rotate_top_up_secret(session, actor, tenant_id),
            lambda result: RotateTopUpSecretPayload(secret=result[1]),
            RotateTopUpSecretPayload,
        )


async def _moved(
    session: AsyncSession, actor: Principal, command: MoveRequest
) -> tuple[Tenant, MoveOutcome]:
    # The moved tenant first: the audit log files the event under it.
    outcome = await move.move_tenant(session, actor, command)
    return outcome.tenant, outcome

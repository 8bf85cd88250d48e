"""Tariff and sponsor operator mutations."""

from datetime import datetime
from decimal import Decimal

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import inspect, mutate
from tenantry.api.mutations.tenants import TenantPayload
from tenantry.api.relay import decode_id
from tenantry.api.roles import requires
from tenantry.api.types.catalog import (
    INCREMENT,
    MINIMUM,
    UNIT_PRICE,
    UNITS,
    SponsorOperatorType,
    TariffType,
    to_gql_operator,
    to_gql_tariff,
)
from tenantry.api.types.tariff_version import TariffPreview, to_gql_preview
from tenantry.api.types.tenant import to_gql_tenant
from tenantry.auth.principal import Principal
from tenantry.operators import service as operators
from tenantry.tariffs import preview as previews
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import UsageKind
from tenantry.tariffs.preview import PreviewRequest
from tenantry.tariffs.service import NewRate, NewTariff, Revision


@strawberry.input(description=UNITS)
class TariffRateInput:
    kind: UsageKind
    unit_price: Decimal = strawberry.field(description=UNIT_PRICE)
    increment: Decimal = strawberry.field(default=Decimal(1), description=INCREMENT)
    minimum: Decimal = strawberry.field(default=Decimal(0), description=MINIMUM)


@strawberry.input
class CreateTariffInput:
    owner_id: strawberry.ID
    name: str
    rates: list[TariffRateInput]
    monthly_fee_per_endpoint: Decimal | None = None


@strawberry.input
class ReviseTariffInput:
    tariff_id: strawberry.ID
    rates: list[TariffRateInput]
    effective_from: datetime = strawberry.field(
        description="Now or later (more than 1 s before the server's clock is refused)."
    )
    monthly_fee_per_endpoint: Decimal | None = None


@strawberry.input
class PreviewTariffInput:
    tariff_id: strawberry.ID
    rates: list[TariffRateInput]
    from_: datetime = strawberry.field(name="from")
    to: datetime = strawberry.field(description="Exclusive; the period must have ended.")
    monthly_fee_per_endpoint: Decimal | None = strawberry.field(
        default=None, description="Checked as a revision would be; fees are not previewed."
    )


@strawberry.type
class TariffPreviewPayload:
    preview: TariffPreview | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateSponsorOperatorInput:
    name: str


@strawberry.input
class GrantSponsorOperatorsInput:
    tenant_id: strawberry.ID
    sponsor_operator_ids: list[strawberry.ID]


@strawberry.type
class TariffPayload:
    tariff: TariffType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SponsorOperatorPayload:
    sponsor_operator: SponsorOperatorType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _rates(rates: list[TariffRateInput]) -> list[NewRate]:
    return [NewRate(r.kind, r.unit_price, r.increment, r.minimum) for r in rates]


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Create a tariff owned by a tenant, priced in its currency.")
    async def create_tariff(self, info: Info, input: CreateTariffInput) -> TariffPayload:
        command = NewTariff(
            owner_id=decode_id(input.owner_id, "Tenant"),
            name=input.name,
            rates=_rates(input.rates),
            monthly_fee_per_endpoint=input.monthly_fee_per_endpoint,
        )
        return await mutate(
            info,
            lambda session, actor: tariffs.create_tariff(session, actor, command),
            lambda row: TariffPayload(tariff=to_gql_tariff(row)),
            TariffPayload,
        )

    @strawberry.mutation(
        description="The tariff owner's admins: new prices from an instant on (now or later). "
        "Usage is rated by the version in force when it occurred."
    )
    async def revise_tariff(self, info: Info, input: ReviseTariffInput) -> TariffPayload:
        command = Revision(
            tariff_id=decode_id(input.tariff_id, "Tariff"),
            rates=_rates(input.rates),
            effective_from=input.effective_from,
            monthly_fee_per_endpoint=input.monthly_fee_per_endpoint,
        )
        return await mutate(
            info,
            lambda session, actor: tariffs.revise_tariff(session, actor, command),
            lambda row: TariffPayload(tariff=to_gql_tariff(row)),
            TariffPayload,
        )

    @strawberry.mutation(
        description="The tariff owner's admins: what a past period's usage cost each payer "
        "of the tariff and would have cost by the proposed rates. Changes nothing."
    )
    async def preview_tariff(self, info: Info, input: PreviewTariffInput) -> TariffPreviewPayload:
        request = PreviewRequest(
            tariff_id=decode_id(input.tariff_id, "Tariff"),
            rates=_rates(input.rates),
            since=input.from_,
            until=input.to,
            monthly_fee_per_endpoint=input.monthly_fee_per_endpoint,
        )
        return await inspect(
            info,
            lambda session, actor: previews.preview_tariff(session, actor, request),
            lambda preview: TariffPreviewPayload(preview=to_gql_preview(preview)),
            TariffPreviewPayload,
        )

    @strawberry.mutation(
        description="Platform admins: add an operator to the catalog.",
        metadata=requires(Principal.require_platform_admin),
    )
    async def create_sponsor_operator(
        self, info: Info, input: CreateSponsorOperatorInput
    ) -> SponsorOperatorPayload:
        return await mutate(
            info,
            lambda session, actor: operators.create_operator(session, actor, input.name),
            lambda row: SponsorOperatorPayload(sponsor_operator=to_gql_operator(row)),
            SponsorOperatorPayload,
        )

    @strawberry.mutation(description="Grant a sub-tenant operators its parent has.")
    async def grant_sponsor_operators(
        self, info: Info, input: GrantSponsorOperatorsInput
    ) -> TenantPayload:
        tenant_id = decode_id(input.tenant_id, "Tenant")
        operator_ids = [decode_id(i, "SponsorOperator") for i in input.sponsor_operator_ids]
        return await mutate(
            info,
            lambda session, actor: operators.grant_operators(
                session, actor, tenant_id, operator_ids
            ),
            lambda row: TenantPayload(tenant=to_gql_tenant(row)),
            TenantPayload,
        )

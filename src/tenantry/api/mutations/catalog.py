"""Tariff and sponsor operator mutations."""

from datetime import datetime
from decimal import Decimal

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, inspect, mutate
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

RATES = "One per usage kind it prices; usage of a kind left out costs nothing at this level."
MONTHLY_FEE = (
    "What each endpoint of a payer is charged a month, in the tariff's currency (at most "
    "10^12, in the currency's precision); null: no monthly fee."
)


@strawberry.input(description=UNITS)
class TariffRateInput:
    kind: UsageKind = strawberry.field(description="The usage kind it prices; once per tariff.")
    unit_price: Decimal = strawberry.field(description=UNIT_PRICE)
    increment: Decimal = strawberry.field(default=Decimal(1), description=INCREMENT)
    minimum: Decimal = strawberry.field(default=Decimal(0), description=MINIMUM)


@strawberry.input(description="A new tariff; its first version prices all time before it too.")
class CreateTariffInput:
    owner_id: strawberry.ID = strawberry.field(
        description="The tenant that owns it and charges by it: yours or one below it; the "
        "tariff is in its currency."
    )
    name: str = strawberry.field(description="Up to 200 characters.")
    rates: list[TariffRateInput] = strawberry.field(description=RATES)
    monthly_fee_per_endpoint: Decimal | None = strawberry.field(
        default=None, description=MONTHLY_FEE
    )


@strawberry.input(description="New prices for a tariff from an instant on.")
class ReviseTariffInput:
    tariff_id: strawberry.ID = strawberry.field(
        description="A tariff your tenant or one below it owns."
    )
    rates: list[TariffRateInput] = strawberry.field(
        description=RATES + " They replace all of the previous version's."
    )
    effective_from: datetime = strawberry.field(
        description="Now or later (more than 1 s before the server's clock is refused)."
    )
    monthly_fee_per_endpoint: Decimal | None = strawberry.field(
        default=None, description=MONTHLY_FEE
    )


@strawberry.input(description="Proposed prices to try on a past period's usage.")
class PreviewTariffInput:
    tariff_id: strawberry.ID = strawberry.field(
        description="A tariff your tenant or one below it owns."
    )
    rates: list[TariffRateInput] = strawberry.field(
        description="The proposed rates, checked as a revision's would be."
    )
    from_: datetime = strawberry.field(name="from", description="Start of the period, inclusive.")
    to: datetime = strawberry.field(description="Exclusive; the period must have ended.")
    monthly_fee_per_endpoint: Decimal | None = strawberry.field(
        default=None, description="Checked as a revision would be; fees are not previewed."
    )


@strawberry.type(description="What previewTariff answers: the preview, or why not.")
class TariffPreviewPayload:
    preview: TariffPreview | None = strawberry.field(default=None, description="Null when refused.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="A new operator of the platform's catalog.")
class CreateSponsorOperatorInput:
    name: str = strawberry.field(description="Unique in the catalog; up to 200 characters.")


@strawberry.input(description="Operators to make available to a sub-tenant.")
class GrantSponsorOperatorsInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="The sub-tenant; you must be an admin of a tenant above it."
    )
    sponsor_operator_ids: list[strawberry.ID] = strawberry.field(
        description="Operators its parent has available; added to those granted before."
    )


@strawberry.type(description="What createTariff and reviseTariff answer: the tariff, or why not.")
class TariffPayload:
    tariff: TariffType | None = strawberry.field(
        default=None, description="The tariff as it is now; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="What createSponsorOperator answers: the operator, or why not.")
class SponsorOperatorPayload:
    sponsor_operator: SponsorOperatorType | None = strawberry.field(
        default=None, description="The new operator; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


def _rates(rates: list[TariffRateInput]) -> list[NewRate]:
    return [NewRate(r.kind, r.unit_price, r.increment, r.minimum) for r in rates]


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Create a tariff owned by a tenant, priced in its currency (admins of the "
        "tenant or above)."
    )
    async def create_tariff(self, info: Info, input: Input[CreateTariffInput]) -> TariffPayload:
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
    async def revise_tariff(self, info: Info, input: Input[ReviseTariffInput]) -> TariffPayload:
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
    async def preview_tariff(
        self, info: Info, input: Input[PreviewTariffInput]
    ) -> TariffPreviewPayload:
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
        self, info: Info, input: Input[CreateSponsorOperatorInput]
    ) -> SponsorOperatorPayload:
        return await mutate(
            info,
            lambda session, actor: operators.create_operator(session, actor, input.name),
            lambda row: SponsorOperatorPayload(sponsor_operator=to_gql_operator(row)),
            SponsorOperatorPayload,
        )

    @strawberry.mutation(
        description="Grant a sub-tenant operators its parent has (admins of a tenant above it)."
    )
    async def grant_sponsor_operators(
        self, info: Info, input: Input[GrantSponsorOperatorsInput]
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

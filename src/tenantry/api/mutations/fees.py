"""Charging monthly endpoint fees (platform admins)."""

from datetime import datetime

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.roles import requires
from tenantry.api.types.fee_run import FeeRunType, to_gql_fee_run
from tenantry.auth.principal import Principal
from tenantry.fees import service


@strawberry.input(description="The period to charge monthly endpoint fees for.")
class ChargeEndpointFeesInput:
    period_start: datetime = strawberry.field(description="Start of the period, inclusive.")
    period_end: datetime = strawberry.field(description="Exclusive; must have passed.")


@strawberry.type(description="What chargeEndpointFees answers: the run, or why not.")
class FeeRunPayload:
    run: FeeRunType | None = strawberry.field(
        default=None,
        description="The run for the period (the first one when it was charged before); null "
        "when refused.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class FeeMutations:
    @strawberry.mutation(
        description="Platform admins: charge every endpoint's monthly fees for a period that "
        "has ended. The same period again returns the first run and charges nothing; a period "
        "overlapping a charged one is refused.",
        metadata=requires(Principal.require_platform_admin),
    )
    async def charge_endpoint_fees(
        self, info: Info, input: Input[ChargeEndpointFeesInput]
    ) -> FeeRunPayload:
        start, end = input.period_start, input.period_end
        return await mutate(
            info,
            lambda session, actor: service.charge_endpoint_fees(session, actor, start, end),
            lambda row: FeeRunPayload(run=to_gql_fee_run(row)),
            FeeRunPayload,
        )

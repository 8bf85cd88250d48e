"""Charging monthly endpoint fees (platform admins)."""

from datetime import datetime

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.roles import requires
from tenantry.api.types.fee_run import FeeRunType, to_gql_fee_run
from tenantry.auth.principal import Principal
from tenantry.fees import service


@strawberry.input
class ChargeEndpointFeesInput:
    period_start: datetime
    period_end: datetime = strawberry.field(description="Exclusive; must have passed.")


@strawberry.type
class FeeRunPayload:
    run: FeeRunType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class FeeMutations:
    @strawberry.mutation(
        description="Platform admins: charge every endpoint's monthly fees for a period that "
        "has ended. The same period again returns the first run and charges nothing; a period "
        "overlapping a charged one is refused.",
        metadata=requires(Principal.require_platform_admin),
    )
    async def charge_endpoint_fees(
        self, info: Info, input: ChargeEndpointFeesInput
    ) -> FeeRunPayload:
        start, end = input.period_start, input.period_end
        return await mutate(
            info,
            lambda session, actor: service.charge_endpoint_fees(session, actor, start, end),
            lambda row: FeeRunPayload(run=to_gql_fee_run(row)),
            FeeRunPayload,
        )

"""Starting and ending impersonation."""

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.audit import ImpersonationType, to_gql_impersonation
from tenantry.auth import impersonation
from tenantry.auth.impersonation import NewImpersonation
from tenantry.auth.models import Impersonation


@strawberry.input
class StartImpersonationInput:
    tenant_id: strawberry.ID
    reason: str
    read_only: bool = True
    minutes: int = strawberry.field(default=30, description="At most 60; cannot be extended.")


@strawberry.input
class EndImpersonationInput:
    id: strawberry.ID


@strawberry.type
class StartImpersonationPayload:
    token: str | None = strawberry.field(
        default=None, description="Acts as the tenant until it expires or is ended. Shown once."
    )
    impersonation: ImpersonationType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ImpersonationPayload:
    impersonation: ImpersonationType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _started(result: tuple[Impersonation, str]) -> StartImpersonationPayload:
    row, token = result
    return StartImpersonationPayload(token=token, impersonation=to_gql_impersonation(row))


@strawberry.type
class ImpersonationMutations:
    @strawberry.mutation(description="An admin acts as a tenant below them, with a reason.")
    async def start_impersonation(
        self, info: Info, input: StartImpersonationInput
    ) -> StartImpersonationPayload:
        command = NewImpersonation(
            decode_id(input.tenant_id, "Tenant"), input.reason, input.read_only, input.minutes
        )
        return await mutate(
            info,
            lambda session, actor: impersonation.start(session, actor, command),
            _started,
            StartImpersonationPayload,
        )

    @strawberry.mutation(description="End an impersonation now: its token stops working at once.")
    async def end_impersonation(
        self, info: Info, input: EndImpersonationInput
    ) -> ImpersonationPayload:
        impersonation_id = decode_id(input.id, "Impersonation")
        return await mutate(
            info,
            lambda session, actor: impersonation.end(session, actor, impersonation_id),
            lambda row: ImpersonationPayload(impersonation=to_gql_impersonation(row)),
            ImpersonationPayload,
            allowed_read_only=True,
        )

"""Starting and ending impersonation."""

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.audit import ImpersonationType, to_gql_impersonation
from tenantry.auth import impersonation
from tenantry.auth.impersonation import NewImpersonation
from tenantry.auth.models import Impersonation


@strawberry.input(description="Whom to impersonate, why, and for how long.")
class StartImpersonationInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="A tenant strictly below yours (a managed tenant only with partner access on)."
    )
    reason: str = strawberry.field(description="Why; required, and kept in the audit log.")
    read_only: bool = strawberry.field(
        default=True, description="True (the default): acting through it changes nothing."
    )
    minutes: int = strawberry.field(default=30, description="At most 60; cannot be extended.")


@strawberry.input(description="Which impersonation to end.")
class EndImpersonationInput:
    id: strawberry.ID = strawberry.field(description="An impersonation you started.")


@strawberry.type(description="What startImpersonation answers: its token, or why not.")
class StartImpersonationPayload:
    token: str | None = strawberry.field(
        default=None, description="Acts as the tenant until it expires or is ended. Shown once."
    )
    impersonation: ImpersonationType | None = strawberry.field(
        default=None, description="The impersonation started; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="What endImpersonation answers: the impersonation, or why not.")
class ImpersonationPayload:
    impersonation: ImpersonationType | None = strawberry.field(
        default=None, description="The impersonation, ended; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


def _started(result: tuple[Impersonation, str]) -> StartImpersonationPayload:
    row, token = result
    return StartImpersonationPayload(token=token, impersonation=to_gql_impersonation(row))


@strawberry.type
class ImpersonationMutations:
    @strawberry.mutation(description="An admin acts as a tenant below them, with a reason.")
    async def start_impersonation(
        self, info: Info, input: Input[StartImpersonationInput]
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

    @strawberry.mutation(
        description="End an impersonation now (only the person who started it): its token "
        "stops working at once."
    )
    async def end_impersonation(
        self, info: Info, input: Input[EndImpersonationInput]
    ) -> ImpersonationPayload:
        impersonation_id = decode_id(input.id, "Impersonation")
        return await mutate(
            info,
            lambda session, actor: impersonation.end(session, actor, impersonation_id),
            lambda row: ImpersonationPayload(impersonation=to_gql_impersonation(row)),
            ImpersonationPayload,
            allowed_read_only=True,
        )

"""User and API token mutations."""

from datetime import datetime

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.enums import Role
from tenantry.api.types.user import ApiTokenType, UserType, to_gql_api_token, to_gql_user
from tenantry.auth import service
from tenantry.auth.models import ApiToken
from tenantry.auth.service import NewApiToken, NewUser


@strawberry.input
class CreateUserInput:
    tenant_id: strawberry.ID
    email: str
    name: str
    role: Role


@strawberry.input
class CreateApiTokenInput:
    user_id: strawberry.ID
    name: str
    expires_at: datetime | None = None


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class UserPayload:
    user: UserType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiTokenPayload:
    token: str | None = strawberry.field(
        default=None, description="The secret, shown only in this response. Store it now."
    )
    api_token: ApiTokenType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _token_payload(result: tuple[ApiToken, str]) -> ApiTokenPayload:
    row, secret = result
    return ApiTokenPayload(token=secret, api_token=to_gql_api_token(row))


@strawberry.type
class UserMutations:
    @strawberry.mutation
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        command = NewUser(decode_id(input.tenant_id, "Tenant"), input.email, input.name, input.role)
        return await mutate(
            info,
            lambda session, actor: service.create_user(session, actor, command),
            lambda row: UserPayload(user=to_gql_user(row)),
            UserPayload,
        )

    @strawberry.mutation(description="Mint an API token for a user; the secret is shown once.")
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> ApiTokenPayload:
        command = NewApiToken(decode_id(input.user_id, "User"), input.name, input.expires_at)
        return await mutate(
            info,
            lambda session, actor: service.create_api_token(session, actor, command),
            _token_payload,
            ApiTokenPayload,
        )

    @strawberry.mutation
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> ApiTokenPayload:
        token_id = decode_id(input.id, "ApiToken")
        return await mutate(
            info,
            lambda session, actor: service.revoke_api_token(session, actor, token_id),
            lambda row: ApiTokenPayload(api_token=to_gql_api_token(row)),
            ApiTokenPayload,
        )

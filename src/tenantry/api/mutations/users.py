"""User and API token mutations."""

from datetime import datetime

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.enums import Role
from tenantry.api.types.user import ApiTokenType, UserType, to_gql_api_token, to_gql_user
from tenantry.auth import service
from tenantry.auth.models import ApiToken
from tenantry.auth.service import NewApiToken, NewUser


@strawberry.input(description="A new user of a tenant.")
class CreateUserInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="Its tenant: yours, one below it, or (for a partner's admins) a managed "
        "tenant of the partner."
    )
    email: str = strawberry.field(
        description="A valid address of up to 320 characters, unique within the tenant "
        "(letter case aside)."
    )
    name: str = strawberry.field(description="Up to 200 characters.")
    role: Role = strawberry.field(description="ADMIN or VIEWER.")


@strawberry.input(description="A new API token for a user.")
class CreateApiTokenInput:
    user_id: strawberry.ID = strawberry.field(description="Whose token: requests act as them.")
    name: str = strawberry.field(description="A label to tell tokens apart; up to 200 characters.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="A future instant when it stops working; null: never."
    )


@strawberry.input(description="Which API token to revoke.")
class RevokeApiTokenInput:
    id: strawberry.ID = strawberry.field(
        description="The token; impersonations started with it end with it."
    )


@strawberry.type(description="What createUser answers: the user, or why not.")
class UserPayload:
    user: UserType | None = strawberry.field(
        default=None, description="The new user; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(
    description="What createApiToken and revokeApiToken answer: the token, or why not."
)
class ApiTokenPayload:
    token: str | None = strawberry.field(
        default=None, description="The secret, shown only in this response. Store it now."
    )
    api_token: ApiTokenType | None = strawberry.field(
        default=None, description="The token as it is now; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


def _token_payload(result: tuple[ApiToken, str]) -> ApiTokenPayload:
    row, secret = result
    return ApiTokenPayload(token=secret, api_token=to_gql_api_token(row))


@strawberry.type
class UserMutations:
    @strawberry.mutation(
        description="Add a user to a tenant (admins of it or above; a partner's admins for "
        "its managed tenants, which is how one gets its first admin)."
    )
    async def create_user(self, info: Info, input: Input[CreateUserInput]) -> UserPayload:
        command = NewUser(decode_id(input.tenant_id, "Tenant"), input.email, input.name, input.role)
        return await mutate(
            info,
            lambda session, actor: service.create_user(session, actor, command),
            lambda row: UserPayload(user=to_gql_user(row)),
            UserPayload,
        )

    @strawberry.mutation(
        description="Mint an API token for a user (admins of its tenant or above); the secret "
        "is shown once."
    )
    async def create_api_token(
        self, info: Info, input: Input[CreateApiTokenInput]
    ) -> ApiTokenPayload:
        command = NewApiToken(decode_id(input.user_id, "User"), input.name, input.expires_at)
        return await mutate(
            info,
            lambda session, actor: service.create_api_token(session, actor, command),
            _token_payload,
            ApiTokenPayload,
        )

    @strawberry.mutation(
        description="Revoke an API token now (admins of its user's tenant or above); "
        "revoking it again changes nothing."
    )
    async def revoke_api_token(
        self, info: Info, input: Input[RevokeApiTokenInput]
    ) -> ApiTokenPayload:
        token_id = decode_id(input.id, "ApiToken")
        return await mutate(
            info,
            lambda session, actor: service.revoke_api_token(session, actor, token_id),
            lambda row: ApiTokenPayload(api_token=to_gql_api_token(row)),
            ApiTokenPayload,
        )

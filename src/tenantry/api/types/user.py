"""User, API token and Viewer types."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.types.enums import Role
from tenantry.api.types.tenant import TenantType, to_gql_tenant
from tenantry.auth.models import ApiToken, User
from tenantry.auth.principal import Principal

if TYPE_CHECKING:
    from tenantry.api.types.audit import ImpersonationType

ImpersonationRef = Annotated["ImpersonationType", strawberry.lazy("tenantry.api.types.audit")]


@strawberry.type(name="User", description="A person with access to one tenant, in one role.")
class UserType(relay.Node):
    id: relay.NodeID[int]
    email: str = strawberry.field(description="Unique within its tenant (letter case aside).")
    name: str = strawberry.field(description="Up to 200 characters.")
    role: Role = strawberry.field(description="ADMIN or VIEWER, in its tenant and below it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    _row: strawberry.Private[User]

    @strawberry.field(description="The tenant it belongs to (and acts as).")
    async def tenant(self, info: Info) -> TenantType:
        row = await info.context.loaders.tenant_by_id.load(self._row.tenant_id)
        # A user is only visible when its tenant is, so the tenant is always there.
        assert row is not None
        return to_gql_tenant(row)


def to_gql_user(row: User) -> UserType:
    return UserType(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        _row=row,
    )


@strawberry.type(name="ApiToken", description="An API token. Its secret is shown only once.")
class ApiTokenType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="A label to tell tokens apart.")
    created_at: datetime = strawberry.field(description="When it was minted.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working; null: it does not expire."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (it stopped working then); null: not revoked."
    )
    _row: strawberry.Private[ApiToken]

    @strawberry.field(description="Whose token it is: requests with it act as this user.")
    async def user(self, info: Info) -> UserType:
        row = await info.context.loaders.user_by_id.load(self._row.user_id)
        assert row is not None
        return to_gql_user(row)


def to_gql_api_token(row: ApiToken) -> ApiTokenType:
    return ApiTokenType(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        _row=row,
    )


@strawberry.type(description="Who this request acts as.")
class Viewer:
    role: Role = strawberry.field(
        description="The role this request acts with: ADMIN while impersonating (a read-only "
        "impersonation still changes nothing)."
    )
    _principal: strawberry.Private[Principal]

    @strawberry.field(description="The user whose token this is.")
    async def user(self, info: Info) -> UserType | None:
        row = await info.context.loaders.user_by_id.load(self._principal.user_id)
        return None if row is None else to_gql_user(row)

    @strawberry.field(description="Set while this request acts through an impersonation.")
    async def impersonation(self, info: Info) -> ImpersonationRef | None:
        from tenantry.api.types.audit import to_gql_impersonation

        if self._principal.impersonation_id is None:
            return None
        row = await info.context.loaders.impersonation_by_id.load(self._principal.impersonation_id)
        return None if row is None else to_gql_impersonation(row)

    @strawberry.field(description="The tenant this request acts as.")
    async def tenant(self, info: Info) -> TenantType:
        row = await info.context.loaders.tenant_by_id.load(self._principal.tenant_id)
        assert row is not None
        return to_gql_tenant(row)

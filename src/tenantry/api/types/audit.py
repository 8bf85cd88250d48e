"""Audit events and impersonations."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.audit.models import AuditEvent
from tenantry.auth.models import Impersonation

if TYPE_CHECKING:
    from tenantry.api.types.tenant import TenantType
    from tenantry.api.types.user import UserType

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]
UserRef = Annotated["UserType", strawberry.lazy("tenantry.api.types.user")]

# Audit targets are recorded by model; a few are shown under another GraphQL name.
GRAPHQL_TYPE = {"Posting": "AccountTransaction"}


async def _tenant(info: Info, tenant_id: int | None) -> "TenantType | None":
    from tenantry.api.types.tenant import to_gql_tenant

    row = None if tenant_id is None else await info.context.loaders.tenant_by_id.load(tenant_id)
    return None if row is None else to_gql_tenant(row)


@strawberry.type(name="AuditEvent", description="A change, or an impersonation starting or ending.")
class AuditEventType(relay.Node):
    id: relay.NodeID[int]
    action: str = strawberry.field(description="The mutation's name, e.g. createSubTenant.")
    created_at: datetime = strawberry.field(description="When the change was made.")
    details: str | None = strawberry.field(description="The mutation's input, as JSON.")
    _row: strawberry.Private[AuditEvent]

    @strawberry.field(description="The real person; null when you cannot see their user.")
    async def actor(self, info: Info) -> UserRef | None:
        from tenantry.api.types.user import to_gql_user

        if self._row.actor_user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self._row.actor_user_id)
        return None if row is None else to_gql_user(row)

    @strawberry.field(description="The tenant the actor was impersonating, if any.")
    async def impersonated_tenant(self, info: Info) -> TenantRef | None:
        return await _tenant(info, self._row.impersonated_tenant_id)

    @strawberry.field(description="Global id of what was changed.")
    def target_id(self) -> strawberry.ID | None:
        kind, pk = self._row.target_type, self._row.target_id
        if kind is None or pk is None:
            return None
        return strawberry.ID(relay.to_base64(GRAPHQL_TYPE.get(kind, kind), pk))


def to_gql_audit_event(row: AuditEvent) -> AuditEventType:
    return AuditEventType(
        id=row.id, action=row.action, created_at=row.created_at, details=row.details, _row=row
    )


@strawberry.type(
    name="Impersonation", description="Someone acting as a tenant below them, for a while."
)
class ImpersonationType(relay.Node):
    id: relay.NodeID[int]
    reason: str = strawberry.field(description="Why, as the actor stated it when starting.")
    read_only: bool = strawberry.field(
        description="True: acting through it changes nothing (mutations answer READ_ONLY)."
    )
    started_at: datetime = strawberry.field(description="When it was started.")
    expires_at: datetime = strawberry.field(
        description="When its token stops working: at most 60 minutes after the start."
    )
    ended_at: datetime | None = strawberry.field(
        description="When it was ended (endImpersonation, or revoking the API token that "
        "started it); null when it was not."
    )
    _row: strawberry.Private[Impersonation]

    @strawberry.field(description="Who is behind it.")
    async def actor(self, info: Info) -> UserRef:
        from tenantry.api.types.user import to_gql_user

        # Impersonations are shown only to the person behind them (viewer, start and end
        # payloads), who may of course see themselves.
        row = await info.context.loaders.user_by_id_unscoped.load(self._row.actor_user_id)
        assert row is not None
        return to_gql_user(row)

    @strawberry.field(description="The tenant impersonated.")
    async def tenant(self, info: Info) -> TenantRef:
        row = await _tenant(info, self._row.tenant_id)
        assert row is not None
        return row


def to_gql_impersonation(row: Impersonation) -> ImpersonationType:
    return ImpersonationType(
        id=row.id,
        reason=row.reason,
        read_only=row.read_only,
        started_at=row.started_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        _row=row,
    )

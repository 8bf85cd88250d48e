"""Usage ingestion (platform admins)."""

from datetime import datetime
from decimal import Decimal

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id
from tenantry.api.roles import requires
from tenantry.auth.principal import Principal
from tenantry.tariffs.models import UsageKind
from tenantry.usage import service
from tenantry.usage.service import IngestResult, NewUsageRecord


@strawberry.input
class UsageRecordInput:
    event_id: str = strawberry.field(
        description="Yours to choose; a repeated event is recorded once."
    )
    endpoint_id: strawberry.ID
    kind: UsageKind
    quantity: Decimal = strawberry.field(
        description="MB for DATA, messages for SMS, seconds for VOICE."
    )
    occurred_at: datetime


@strawberry.input
class RecordUsageInput:
    records: list[UsageRecordInput] = strawberry.field(description="At most 10,000 per call.")


@strawberry.type
class RecordUsagePayload:
    accepted: int = 0
    duplicates: int = 0
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UsageMutations:
    @strawberry.mutation(
        description="Platform admins: ingest usage; each record is rated up the tree.",
        metadata=requires(Principal.require_platform_admin),
    )
    async def record_usage(self, info: Info, input: RecordUsageInput) -> RecordUsagePayload:
        records = [
            NewUsageRecord(
                r.event_id, decode_id(r.endpoint_id, "Endpoint"), r.kind, r.quantity, r.occurred_at
            )
            for r in input.records
        ]

        def success(result: IngestResult) -> RecordUsagePayload:
            return RecordUsagePayload(accepted=result.accepted, duplicates=result.duplicates)

        return await mutate(
            info,
            lambda session, actor: service.record_usage(session, actor, records),
            success,
            RecordUsagePayload,
        )

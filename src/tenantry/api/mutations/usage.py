"""Usage ingestion (platform admins)."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.mutations.usage_records import to_new_records
from tenantry.api.roles import requires
from tenantry.auth.principal import Principal
from tenantry.tariffs.models import UsageKind
from tenantry.usage import service
from tenantry.usage.service import IngestResult, NewUsageRecord


@strawberry.input(description="One usage event of one endpoint.")
class UsageRecordInput:
    event_id: str = strawberry.field(
        description="Yours to choose, 1-200 characters; a repeated event is recorded once."
    )
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint that used it.")
    kind: UsageKind = strawberry.field(description="DATA, SMS or VOICE.")
    quantity: Decimal = strawberry.field(
        description="MB for DATA, messages for SMS, seconds for VOICE: zero or more, at most "
        "10^12, at most 6 decimal places."
    )
    occurred_at: datetime = strawberry.field(
        description="When it happened: from 2000-01-01T00:00Z to at most 1 hour after the "
        "server's clock. The tariff versions in force then rate it."
    )


@strawberry.input(description="A batch of usage records.")
class RecordUsageInput:
    records: list[NewUsageRecord] = strawberry.field(
        graphql_type=list[UsageRecordInput], description="At most 10,000 per call."
    )


def _record_usage_input(
    cls: type[RecordUsageInput], value: Mapping[str, Any], _context: InputContext
) -> RecordUsageInput:
    """The records straight from their coerced values: no input object each (see
    usage_records.py; a batch parsed there and one coerced by graphql-core look alike)."""
    return cls(records=to_new_records(value["records"]))


get_object_definition(RecordUsageInput, strict=True).from_input = _record_usage_input


@strawberry.type(
    description="What recordUsage answers: how many records it took, or why it took none."
)
class RecordUsagePayload:
    accepted: int = strawberry.field(
        default=0, description="Records recorded and rated now; 0 when refused."
    )
    duplicates: int = strawberry.field(
        default=0,
        description="Records whose eventId was recorded before (or earlier in this batch): "
        "skipped.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class UsageMutations:
    @strawberry.mutation(
        description="Platform admins: ingest usage; each record is rated up the tree.",
        metadata=requires(Principal.require_platform_admin),
    )
    async def record_usage(self, info: Info, input: Input[RecordUsageInput]) -> RecordUsagePayload:
        records = input.records

        def success(result: IngestResult) -> RecordUsagePayload:
            return RecordUsagePayload(accepted=result.accepted, duplicates=result.duplicates)

        return await mutate(
            info,
            lambda session, actor: service.record_usage(session, actor, records),
            success,
            RecordUsagePayload,
        )

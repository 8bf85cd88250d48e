"""Usage ingestion (platform admins)."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.mutations.usage_records import ParsedRecords, to_new_records
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
    records: list[NewUsageRecord] = strawberry.field(
        graphql_type=list[UsageRecordInput], description="At most 10,000 per call."
    )


def _record_usage_input(
    cls: type[RecordUsageInput], value: Mapping[str, Any], context: InputContext
) -> RecordUsageInput:
    """Records parsed ahead (usage_records.py) are taken as they are; others (written in the
    document, or declined there) are converted by Strawberry, one input object each."""
    records = value["records"]
    if not isinstance(records, ParsedRecords):
        converted = context.convert(records, list[UsageRecordInput], "records")
        records = to_new_records(cast("list[UsageRecordInput]", converted))
    return cls(records=records)


get_object_definition(RecordUsageInput, strict=True).from_input = _record_usage_input


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
        records = input.records

        def success(result: IngestResult) -> RecordUsagePayload:
            return RecordUsagePayload(accepted=result.accepted, duplicates=result.duplicates)

        return await mutate(
            info,
            lambda session, actor: service.record_usage(session, actor, records),
            success,
            RecordUsagePayload,
        )

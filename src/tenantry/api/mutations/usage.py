"""Usage ingestion (platform admins)."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.mutations.usage_records import to_new_records
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
    cls: type[RecordUsageInput], value: Mapping[str, Any], _context: InputContext
) -> RecordUsageInput:
    """The records straight from their coerced values: no input object each (see
    usage_records.py; a batch parsed there and one coerced by graphql-core look alike)."""
    return cls(records=to_new_records(value["records"]))


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

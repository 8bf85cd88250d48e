"""Requesting usage reports."""

from datetime import datetime

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.report import UsageReportType, to_gql_report
from tenantry.reports import service
from tenantry.reports.models import UsageReport
from tenantry.reports.service import NewReport
from tenantry.reports.tasks import enqueue_soon


@strawberry.input(description="What a usage report covers.")
class RequestUsageReportInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="The tenant whose usage: yours or one below it."
    )
    from_: datetime = strawberry.field(
        name="from", description="Start of the range, inclusive; needs a UTC offset."
    )
    to: datetime = strawberry.field(
        description="End of the range, exclusive: after `from`, at most 366 days later."
    )
    include_descendants: bool = strawberry.field(
        default=True,
        description="True (the default): the tenant's whole sub-tree; false: its own "
        "customers only.",
    )


@strawberry.type(description="What requestUsageReport answers: the report, or why not.")
class UsageReportPayload:
    report: UsageReportType | None = strawberry.field(
        default=None, description="The new report, PENDING; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class ReportMutations:
    @strawberry.mutation(
        description="Ask for a usage report (at most 366 days; admins and viewers of the tenant "
        "or above); it is built in the background."
    )
    async def request_usage_report(
        self, info: Info, input: Input[RequestUsageReportInput]
    ) -> UsageReportPayload:
        command = NewReport(
            decode_id(input.tenant_id, "Tenant"), input.from_, input.to, input.include_descendants
        )
        jobs = info.context.jobs

        async def queue(report: UsageReport) -> None:
            assert jobs is not None, "the server always runs with a job queue"
            await enqueue_soon(jobs, report.id)

        return await mutate(
            info,
            lambda session, actor: service.request_report(session, actor, command),
            lambda row: UsageReportPayload(report=to_gql_report(row)),
            UsageReportPayload,
            after_commit=queue,
        )

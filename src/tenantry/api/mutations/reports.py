"""Requesting usage reports."""

from datetime import datetime

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id
from tenantry.api.types.report import UsageReportType, to_gql_report
from tenantry.reports import service
from tenantry.reports.models import UsageReport
from tenantry.reports.service import NewReport
from tenantry.reports.tasks import enqueue_soon


@strawberry.input
class RequestUsageReportInput:
    tenant_id: strawberry.ID
    from_: datetime = strawberry.field(name="from")
    to: datetime
    include_descendants: bool = True


@strawberry.type
class UsageReportPayload:
    report: UsageReportType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReportMutations:
    @strawberry.mutation(
        description="Ask for a usage report (at most 366 days); it is built in the background."
    )
    async def request_usage_report(
        self, info: Info, input: RequestUsageReportInput
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

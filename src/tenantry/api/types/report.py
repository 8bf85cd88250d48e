"""Usage reports."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.types.enums import expose_enum
from tenantry.reports import service
from tenantry.reports.models import ReportStatus, UsageReport

if TYPE_CHECKING:
    from tenantry.api.types.tenant import TenantType

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]

expose_enum(
    ReportStatus,
    "Where a report's build stands: PENDING, RUNNING, then SUCCEEDED or FAILED.",
    {
        ReportStatus.PENDING: "Requested; waiting for a worker.",
        ReportStatus.RUNNING: "Being built; progress says how far.",
        ReportStatus.SUCCEEDED: "Built: the CSV can be downloaded until it expires.",
        ReportStatus.FAILED: "The build failed; error says why.",
    },
)

DOWNLOAD_PATH = "/reports/{id}/usage.csv"


@strawberry.type(
    name="UsageReport",
    description="A CSV of usage per endpoint and kind, built in the background. "
    "Quantities are in MB (DATA), messages (SMS) and seconds (VOICE).",
)
class UsageReportType(relay.Node):
    id: relay.NodeID[int]
    from_: datetime = strawberry.field(name="from", description="Start of the range, inclusive.")
    to: datetime = strawberry.field(description="End of the range, exclusive.")
    include_descendants: bool = strawberry.field(
        description="True: the tenant's whole sub-tree; false: the tenant's own customers only."
    )
    status: ReportStatus = strawberry.field(description="Where the build stands.")
    progress: float = strawberry.field(description="0 to 1.")
    row_count: int | None = strawberry.field(
        description="Rows of usage in the CSV; null until it has been built."
    )
    created_at: datetime = strawberry.field(description="When it was requested.")
    completed_at: datetime | None = strawberry.field(
        description="When it SUCCEEDED or FAILED; null before."
    )
    error: str | None = strawberry.field(
        description="Why it FAILED, in a sentence for people (the details are in the logs)."
    )
    byte_size: float | None = strawberry.field(
        description="Size of the CSV in bytes; null until SUCCEEDED. A Float, exact to 2^53: "
        "a GraphQL Int stops at 2 GiB."
    )
    _row: strawberry.Private[UsageReport]

    @strawberry.field(description="The tenant whose usage it covers; it is in its reports.")
    async def tenant(self, info: Info) -> TenantRef:
        from tenantry.api.types.tenant import to_gql_tenant

        row = await info.context.loaders.tenant_by_id.load(self._row.tenant_id)
        assert row is not None  # a report is only visible when its tenant is
        return to_gql_tenant(row)

    @strawberry.field(
        description="When the finished report and its CSV are deleted (the report retention "
        "after completedAt; the hourly sweep removes it within the hour after). Null until it "
        "has finished."
    )
    def expires_at(self, info: Info) -> datetime | None:
        retention = timedelta(days=info.context.settings.report_retention_days)
        return service.expires_at(self._row, retention)

    @strawberry.field(
        description="Signed and expiring; works in a browser without a token. Set when SUCCEEDED."
    )
    async def download_url(self, info: Info) -> str | None:
        if self.status is not ReportStatus.SUCCEEDED:
            return None
        context = info.context
        ttl = timedelta(seconds=context.settings.report_link_ttl_seconds)
        query = await service.signed_query(context.db, self.id, ttl)
        path = DOWNLOAD_PATH.format(id=relay.to_base64("UsageReport", self.id))
        return f"{context.base_url}{path}?{query}"


def to_gql_report(row: UsageReport) -> UsageReportType:
    return UsageReportType(
        id=row.id,
        from_=row.period_start,
        to=row.period_end,
        include_descendants=row.include_descendants,
        status=row.status,
        progress=row.progress,
        row_count=row.row_count,
        created_at=row.created_at,
        completed_at=row.completed_at,
        error=row.error,
        byte_size=row.byte_size if row.status is ReportStatus.SUCCEEDED else None,
        _row=row,
    )

"""Subscriptions (graphql-transport-ws)."""

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from tenantry.api.errors import ClientError
from tenantry.api.info import Info
from tenantry.api.relay import decode_id
from tenantry.api.types.report import UsageReportType, to_gql_report
from tenantry.reports import repository as reports_repo
from tenantry.reports.models import ReportStatus

POLL_SECONDS = 0.25
DONE = {ReportStatus.SUCCEEDED, ReportStatus.FAILED}


@strawberry.type(description="Live updates, over a WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        description="Emits on every status or progress change; ends when the report is done."
    )
    async def usage_report(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The report's global id; an error (NOT_FOUND) when absent or not "
                "visible."
            ),
        ],
    ) -> AsyncGenerator[UsageReportType, None]:
        context = info.context
        report_id = decode_id(id, "UsageReport")
        last: tuple[object, ...] | None = None
        while True:
            # Polling the database (not an in-process event) so that it works whichever
            # process or machine builds the report.
            async with context.db.read() as session:
                report = await reports_repo.get(session, context.actor.scope, report_id)
            if report is None:
                raise ClientError("No such report.", "NOT_FOUND")
            state = (report.status, report.progress, report.row_count)
            if state != last:
                last = state
                yield to_gql_report(report)
            if report.status in DONE:
                return
            await asyncio.sleep(POLL_SECONDS)

"""Background tasks for reports (procrastinate)."""

from procrastinate import Blueprint, JobContext

from tenantry.db.engine import Database
from tenantry.reports import service

tasks = Blueprint()

BUILD_USAGE_REPORT = "build_usage_report"


@tasks.task(name=BUILD_USAGE_REPORT, queue="reports", pass_context=True)
async def build_usage_report(context: JobContext, report_id: int) -> None:
    db: Database = context.additional_context["db"]
    await service.build_report(db, report_id)

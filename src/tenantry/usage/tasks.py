"""Background tasks for usage (procrastinate): monthly partitions made ahead of time."""

from datetime import UTC, datetime

from procrastinate import Blueprint, JobContext

from tenantry.db.engine import Database
from tenantry.usage import partitions

tasks = Blueprint()


# Daily, so a month's partition exists weeks before its first record, and a missed run (or
# a worker down for days) costs nothing: ingestion makes a missing partition itself.
@tasks.periodic(cron="15 1 * * *")
@tasks.task(name="create_usage_partitions", queue="maintenance", pass_context=True)
async def create_usage_partitions(context: JobContext, timestamp: int) -> None:
    db: Database = context.additional_context["db"]
    await partitions.create_ahead(db, datetime.fromtimestamp(timestamp, UTC))

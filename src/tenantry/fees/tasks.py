"""Background tasks for endpoint fees (procrastinate): the monthly run."""

from datetime import UTC, datetime

from procrastinate import Blueprint, JobContext

from tenantry.db.engine import Database
from tenantry.fees import service

tasks = Blueprint()

CHARGE_ENDPOINT_FEES = "charge_endpoint_fees"


# 00:30 UTC on the 1st: the month just ended is complete. procrastinate defers the job
# once per scheduled time whatever the number of workers, and passes that time along, so a
# late or repeated job still charges the month the schedule meant (and charges it once).
@tasks.periodic(cron="30 0 1 * *")
@tasks.task(name=CHARGE_ENDPOINT_FEES, queue="fees", pass_context=True)
async def charge_endpoint_fees(context: JobContext, timestamp: int) -> None:
    db: Database = context.additional_context["db"]
    await service.charge_previous_month(db, datetime.fromtimestamp(timestamp, UTC))

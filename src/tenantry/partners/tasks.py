"""Background tasks for partners (procrastinate): the monthly invoice run."""

from datetime import UTC, datetime

from procrastinate import Blueprint, JobContext

from tenantry.db.engine import Database
from tenantry.partners import invoice_service

tasks = Blueprint()

INVOICE_PARTNERS = "invoice_partners"


# 01:00 UTC on the 1st: the month just ended is complete. procrastinate defers the job
# once per scheduled time whatever the number of workers, and passes that time along, so a
# late or repeated job still invoices the month the schedule meant.
@tasks.periodic(cron="0 1 1 * *")
@tasks.task(name=INVOICE_PARTNERS, queue="invoices", pass_context=True)
async def invoice_partners(context: JobContext, timestamp: int) -> None:
    db: Database = context.additional_context["db"]
    await invoice_service.invoice_previous_month(db, datetime.fromtimestamp(timestamp, UTC))

"""Background tasks for auth (procrastinate)."""

from procrastinate import Blueprint, JobContext

from tenantry.audit import service as audit
from tenantry.auth import repository as repo
from tenantry.auth.service import utcnow
from tenantry.db.engine import Database

tasks = Blueprint()


async def end_expired_impersonations(db: Database) -> int:
    """Mark impersonations whose time ran out as ended, and log each end (their tokens
    already stopped working at expiry: authentication checks the time itself)."""
    async with db.write() as session:
        expired = await repo.expire_impersonations(session, utcnow())
        for impersonation in expired:
            await audit.record_impersonation_end(session, impersonation, "impersonationExpired")
    return len(expired)


@tasks.periodic(cron="* * * * *", periodic_id="expire-impersonations")
@tasks.task(name="end_expired_impersonations", queue="maintenance", pass_context=True)
async def end_expired_impersonations_task(context: JobContext, timestamp: int) -> None:
    db: Database = context.additional_context["db"]
    await end_expired_impersonations(db)

"""Background tasks for rate limits (procrastinate)."""

from procrastinate import Blueprint, JobContext

from tenantry.db.engine import Database
from tenantry.rate_limits import repository as repo

tasks = Blueprint()

# A bucket idle for an hour has refilled under any limit of at least one a minute.
IDLE_SECONDS = 3600.0


async def delete_idle_buckets(db: Database) -> int:
    async with db.bare() as connection:
        return await repo.delete_full_buckets(connection, IDLE_SECONDS)


@tasks.periodic(cron="41 * * * *", periodic_id="delete-idle-rate-limit-buckets")
@tasks.task(name="delete_idle_rate_limit_buckets", queue="maintenance", pass_context=True)
async def delete_idle_buckets_task(context: JobContext, timestamp: int) -> None:
    db: Database = context.additional_context["db"]
    await delete_idle_buckets(db)

"""usage_records' monthly partitions: made ahead of time, and detached when old.

A batch that brings a month without a partition makes it on the spot (record_usage); the
periodic job makes the coming months' partitions first, so that ingestion seldom has to.
"""

from datetime import datetime

from tenantry.db.engine import Database
from tenantry.usage import repository as repo

# The current month and the next ones: partitions made by the periodic job.
MONTHS_AHEAD = 3


def _add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)


async def create_ahead(db: Database, now: datetime) -> list[str]:
    """Make the partitions of ``now``'s month and the next ones (those missing); returns the
    names of the partitions of those months."""
    first = repo.month_of(now)
    months = [_add_months(first, n) for n in range(MONTHS_AHEAD)]
    async with db.write() as session:
        await repo.ensure_partitions(session, months)
        return [p.name for p in await repo.attached_partitions(session) if p.month in months]


async def detach_before(db: Database, month: datetime, *, drop: bool) -> list[str]:
    """Detach (and drop, if asked) every partition of a month before ``month``; returns their
    names. Their event ids stay recorded: a late copy of an old event is still a duplicate."""
    async with db.write() as session:
        old = [p for p in await repo.attached_partitions(session) if p.month < repo.month_of(month)]
        for partition in old:
            await repo.detach_partition(session, partition, drop=drop)
    return [p.name for p in old]

"""All SQL about tariffs, their versions and their rates."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.auth.scope import Scope
from tenantry.core.pagination import Page, PageRequest
from tenantry.db.paging import any_of, counts_by_key, pages_by_key
from tenantry.tariffs.models import Tariff, TariffRate, TariffVersion, UsageKind

_MINUS_INFINITY: sa.ColumnElement[datetime] = sa.literal_column("'-infinity'::timestamptz")
_INFINITY: sa.ColumnElement[datetime] = sa.literal_column("'infinity'::timestamptz")


async def add(
    session: AsyncSession, tariff: Tariff, version: TariffVersion, rates: Sequence[TariffRate]
) -> Tariff:
    """A new tariff and its first version (effective from the tariff's creation)."""
    session.add(tariff)
    await session.flush()
    version.tariff_id = tariff.id
    version.effective_from = await _now(session)
    await add_version(session, version, rates)
    return tariff


async def _now(session: AsyncSession) -> datetime:
    now = await session.scalar(sa.select(sa.func.now()))
    assert isinstance(now, datetime)
    return now


async def add_version(
    session: AsyncSession, version: TariffVersion, rates: Sequence[TariffRate]
) -> TariffVersion:
    session.add(version)
    await session.flush()
    for rate in rates:
        rate.version_id = version.id
        rate.tariff_id = version.tariff_id
        session.add(rate)
    await session.flush()
    return version


async def lock_for_revision(session: AsyncSession, tariff_id: int) -> None:
    """Wait for batches being rated by this tariff to commit, and keep new ones out until
    this transaction ends (they take ``lock_for_rating``). NO KEY UPDATE: rows that merely
    refer to the tariff (customers, tenants) can still be written meanwhile."""
    stmt = sa.select(Tariff.id).where(Tariff.id == tariff_id).with_for_update(key_share=True)
    await session.execute(stmt)


async def lock_for_rating(session: AsyncSession, tariff_ids: Sequence[int]) -> None:
    """Shared locks (any number of batches at once) on the tariffs a batch is rated by, in
    id order: a revision of one of them waits for the batch, and the batch reads the
    versions only once no revision is being written, so it sees all of one or none."""
    stmt = (
        sa.select(Tariff.id)
        .where(any_of(Tariff.id, tariff_ids))
        .order_by(Tariff.id)
        .with_for_update(read=True)
    )
    await session.execute(stmt)


def version_spans(*where: sa.ColumnElement[bool]) -> sa.Subquery:
    """Each version (``id``, ``tariff_id``) with the span ``[starts, ends)`` it is in force:
    until the next version takes effect; the first one also from the beginning of time.
    The one definition of "the version in force at t": a record at ``t`` of tariff ``T``
    joins the span with ``tariff_id = T and starts <= t and t < ends``."""
    order: dict[str, Any] = {
        "partition_by": TariffVersion.tariff_id,
        "order_by": TariffVersion.effective_from,
    }
    previous = sa.func.lag(TariffVersion.effective_from).over(**order)
    following = sa.func.lead(TariffVersion.effective_from).over(**order)
    return (
        sa.select(
            TariffVersion.id,
            TariffVersion.tariff_id,
            sa.case(
                (previous.is_(None), _MINUS_INFINITY), else_=TariffVersion.effective_from
            ).label("starts"),
            sa.func.coalesce(following, _INFINITY).label("ends"),
        )
        .where(*where)
        .subquery("spans")
    )


RatesByKind = dict[UsageKind, TariffRate]


async def rates_in_force(
    session: AsyncSession, pairs: Iterable[tuple[int, datetime]]
) -> dict[tuple[int, datetime], RatesByKind]:
    """The rates of tariff T in force at instant t, for each (T, t) pair, in one statement.
    A pair whose version prices nothing maps to no entry (rating it is free)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    given = (
        sa.func.unnest(
            sa.bindparam("tariff_ids", [t for t, _ in wanted], type_=ARRAY(sa.BigInteger)),
            sa.bindparam("instants", [at for _, at in wanted], type_=ARRAY(sa.DateTime(True))),
        )
        .table_valued("tariff_id", "at")
        .render_derived(name="p", with_types=False)
    )
    spans = version_spans(any_of(TariffVersion.tariff_id, {t for t, _ in wanted}))
    stmt = (
        sa.select(given.c.tariff_id, given.c.at, TariffRate)
        .select_from(given)
        .join(
            spans,
            sa.and_(
                spans.c.tariff_id == given.c.tariff_id,
                spans.c.starts <= given.c.at,
                given.c.at < spans.c.ends,
            ),
        )
        .join(TariffRate, TariffRate.version_id == spans.c.id)
    )
    found: dict[tuple[int, datetime], RatesByKind] = defaultdict(dict)
    for tariff_id, at, rate in (await session.execute(stmt)).all():
        found[(tariff_id, at)][rate.kind] = rate
    return found


def version_in_force_id(
    tariff_id: sa.ColumnElement[int] | InstrumentedAttribute[int], at: sa.ColumnElement[datetime]
) -> sa.ColumnElement[int]:
    """The id of the version of ``tariff_id`` in force at ``at``, as a scalar (correlated
    where the caller's statement is): the latest that has taken effect by then, or else the
    first. The same rule as ``version_spans``, for one tariff and instant at a time."""
    version = aliased(TariffVersion)
    taken_effect = (
        sa.select(version.id)
        .where(version.tariff_id == tariff_id, version.effective_from <= at)
        .order_by(version.effective_from.desc())
        .limit(1)
        .correlate_except(version)
        .scalar_subquery()
    )
    first = (
        sa.select(version.id)
        .where(version.tariff_id == tariff_id)
        .order_by(version.effective_from)
        .limit(1)
        .correlate_except(version)
        .scalar_subquery()
    )
    return sa.func.coalesce(taken_effect, first)


async def current_versions(
    session: AsyncSession, tariff_ids: Sequence[int]
) -> dict[int, TariffVersion]:
    """The version of each tariff in force now (callers pass tariffs they may read)."""
    return await versions_in_force(session, tariff_ids, sa.func.now())


async def versions_in_force(
    session: AsyncSession, tariff_ids: Sequence[int], at: sa.ColumnElement[datetime] | datetime
) -> dict[int, TariffVersion]:
    instant = at if isinstance(at, sa.ColumnElement) else sa.literal(at, sa.DateTime(True))
    stmt = (
        sa.select(TariffVersion)
        .join(Tariff, Tariff.id == TariffVersion.tariff_id)
        .where(
            any_of(Tariff.id, tariff_ids),
            TariffVersion.id == version_in_force_id(Tariff.id, instant),
        )
    )
    return {v.tariff_id: v for v in (await session.scalars(stmt)).all()}


async def versions_of(
    session: AsyncSession, tariff_ids: Sequence[int]
) -> dict[int, list[TariffVersion]]:
    """Every version of each tariff, newest (latest effective) first."""
    stmt = (
        sa.select(TariffVersion)
        .where(any_of(TariffVersion.tariff_id, tariff_ids))
        .order_by(TariffVersion.tariff_id, TariffVersion.effective_from.desc())
    )
    grouped: dict[int, list[TariffVersion]] = defaultdict(list)
    for version in (await session.scalars(stmt)).all():
        grouped[version.tariff_id].append(version)
    return grouped


async def version_at(
    session: AsyncSession, tariff_id: int, effective_from: datetime
) -> TariffVersion | None:
    return await session.scalar(
        sa.select(TariffVersion).where(
            TariffVersion.tariff_id == tariff_id, TariffVersion.effective_from == effective_from
        )
    )


def version_filter(scope: Scope) -> sa.ColumnElement[bool]:
    """Filter on ``tariff_versions``: versions of tariffs the caller may read."""
    return TariffVersion.tariff_id.in_(sa.select(Tariff.id).where(readable(scope)))


async def versions_by_ids(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> list[TariffVersion]:
    """Versions of tariffs the caller may read."""
    stmt = sa.select(TariffVersion).where(any_of(TariffVersion.id, ids), version_filter(scope))
    return list((await session.scalars(stmt)).all())


async def get_owned(session: AsyncSession, scope: Scope, tariff_id: int) -> Tariff | None:
    """A tariff a tenant in scope owns: one the caller may assign."""
    return await session.scalar(
        sa.select(Tariff).where(
            Tariff.id == tariff_id, scope.owned_by_visible_tenant(Tariff.tenant_id)
        )
    )


def readable(scope: Scope) -> sa.ColumnElement[bool]:
    """The tariffs the caller may read (the compiled read path builds on it too)."""
    return scope.tariffs(Tariff.id, Tariff.tenant_id)


def owned(scope: Scope) -> sa.ColumnElement[bool]:
    """The tariffs of tenants in scope: what a tenant's ``tariffs`` lists."""
    return scope.owned_by_visible_tenant(Tariff.tenant_id)


async def get(session: AsyncSession, scope: Scope, tariff_id: int) -> Tariff | None:
    """A tariff the caller may read (its own, or one it or its customers pay)."""
    return await session.scalar(sa.select(Tariff).where(Tariff.id == tariff_id, readable(scope)))


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[int]) -> list[Tariff]:
    """The tariffs the caller may read, of these ids."""
    return list(
        (
            await session.scalars(sa.select(Tariff).where(any_of(Tariff.id, ids), readable(scope)))
        ).all()
    )


async def rates_of_versions(
    session: AsyncSession, version_ids: Sequence[int]
) -> dict[int, list[TariffRate]]:
    # Callers pass ids of versions of tariffs they already loaded through a scope.
    stmt = (
        sa.select(TariffRate)
        .where(any_of(TariffRate.version_id, version_ids))
        .order_by(TariffRate.kind)
    )
    grouped: dict[int, list[TariffRate]] = defaultdict(list)
    for rate in (await session.scalars(stmt)).all():
        grouped[rate.version_id].append(rate)
    return grouped


async def owned_pages(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Tariff]]:
    return await pages_by_key(
        session,
        Tariff,
        Tariff.tenant_id,
        tenant_ids,
        page,
        owned(scope),
    )


async def owned_counts(
    session: AsyncSession, scope: Scope, tenant_ids: Sequence[int]
) -> dict[int, int]:
    return await counts_by_key(session, Tariff.tenant_id, tenant_ids, owned(scope))


async def monthly_fees(
    session: AsyncSession, tariff_ids: Sequence[int], at: datetime
) -> dict[int, Decimal]:
    """The monthly fee per endpoint of the versions in force at ``at``, for the tariffs
    whose version has one (the fee run: ``at`` is the start of its period)."""
    versions = await versions_in_force(session, tariff_ids, at)
    return {
        tariff_id: version.monthly_fee_per_endpoint
        for tariff_id, version in versions.items()
        if version.monthly_fee_per_endpoint is not None
    }

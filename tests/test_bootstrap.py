"""`bootstrap` is idempotent: one platform, one admin, a new working token each time."""

import sqlalchemy as sa

from tenantry.auth import service as auth
from tenantry.auth.models import User
from tenantry.db.engine import Database
from tenantry.tenants.models import Tenant


async def test_bootstrap_twice_keeps_one_platform_and_mints_two_tokens(db: Database) -> None:
    results = []
    for _ in range(2):
        async with db.write() as session:
            results.append(
                await auth.bootstrap_platform(
                    session,
                    name="Platform",
                    moniker="platform",
                    currency="EUR",
                    admin_email="a@example.com",
                )
            )
    assert [r.created for r in results] == [True, False]
    async with db.read() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 1
        assert await session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
        for result in results:
            assert result.token is not None
            principal = await auth.authenticate(session, result.token)
            assert principal is not None and principal.is_platform


async def test_bootstrap_without_mint_gives_no_token_once_set_up(db: Database) -> None:
    async with db.write() as session:
        first = await auth.bootstrap_platform(
            session,
            name="P",
            moniker="platform",
            currency="EUR",
            admin_email="a@example.com",
            mint=False,
        )
    async with db.write() as session:
        second = await auth.bootstrap_platform(
            session,
            name="P",
            moniker="platform",
            currency="EUR",
            admin_email="a@example.com",
            mint=False,
        )
    assert first.token is not None and second.token is None

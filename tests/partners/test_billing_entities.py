"""Billing entity codes under concurrency: two requests never end with one code."""

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.partners import repository as partners_repo
from tenantry.partners import service
from tenantry.partners.models import BillingEntity
from tests.partners.conftest import Platform, codes


async def test_concurrent_entities_with_one_default_code_get_one_each_or_taken(
    db: Database, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = asyncio.Barrier(2)
    add = partners_repo.add

    async def slow_add(*args: Any) -> None:
        # Both requests have chosen "PHY" (none existed) before either inserts.
        await asyncio.sleep(0.1)
        await add(*args)

    monkeypatch.setattr(partners_repo, "add", slow_add)

    async def create(name: str) -> BillingEntity | DomainError:
        try:
            async with db.write() as session:
                await session.execute(sa.text("SELECT 1"))
                await ready.wait()
                return await service.create_billing_entity(
                    session, platform.principal, name, "GB", None
                )
        except DomainError as error:
            return error

    results = await asyncio.gather(create("Phystack A"), create("Phystack B"))

    made = [r.code for r in results if isinstance(r, BillingEntity)]
    refused = [codes(r) for r in results if isinstance(r, DomainError)]
    assert (made, refused) == (["PHY"], [[("code", ErrorCode.TAKEN)]])

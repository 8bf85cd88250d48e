# Invoice descriptions separate their two times with an en dash.
# ruff: noqa: RUF001
"""What an invoice bills: one line per managed tenant and plan period, prorated by the
second against calendar months, rounded half-up once per line. Every expected amount is
worked out by hand in the comments."""

from decimal import Decimal

import pytest

from tenantry.db.engine import Database
from tenantry.partners.models import InvoiceLine
from tests.partners.conftest import (
    SUPPORT,
    TENANT,
    Platform,
    at,
    change_plan,
    generate,
    lines_of,
    make_partner,
    make_plan,
    manage,
)


def amounts_of(lines: list[InvoiceLine]) -> list[Decimal]:
    return [line.amount for line in lines]


async def test_november_prorates_new_tenants_and_splits_plan_changes(
    db: Database, platform: Platform
) -> None:
    partner = await make_partner(db, platform)
    bronze = await make_plan(db, partner, TENANT, "Bronze", "10.00")
    silver = await make_plan(db, partner, TENANT, "Silver", "25.00")
    gold = await make_plan(db, partner, TENANT, "Gold", "30.00")
    community = await make_plan(db, partner, SUPPORT, "Community", "0.00")
    priority = await make_plan(db, partner, SUPPORT, "Priority", "9.99")
    # Created first (lower id), but listed after Acme: lines go by name.
    birch = await manage(db, partner, "Birch Dairy", at(2026, 10, 1), bronze, priority)
    await change_plan(db, partner, birch, community, at(2026, 10, 15))  # Priority: October only
    await change_plan(db, partner, birch, silver, at(2026, 11, 20))
    acme = await manage(db, partner, "Acme Farms", at(2026, 11, 15, 12), gold, priority)
    other_partner = await make_partner(db, platform)
    await manage(
        db,
        other_partner,
        "Aardvark",
        at(2026, 10, 1),
        await make_plan(db, other_partner, TENANT, "Other", "50.00"),
        await make_plan(db, other_partner, SUPPORT, "Other support", "5.00"),
    )

    invoice = await generate(db, platform.principal, partner, at(2026, 11, 1), at(2026, 12, 1))

    lines = await lines_of(db, invoice)
    assert [(line.managed_tenant_id, line.plan_id) for line in lines] == [
        (acme.id, gold.id),
        (acme.id, priority.id),
        (birch.id, bronze.id),
        (birch.id, silver.id),
        (birch.id, community.id),
    ]
    assert [line.description for line in lines] == [
        "Acme Farms — Gold (TENANT plan), 2026-11-15 12:00 – 2026-12-01 00:00 UTC",
        "Acme Farms — Priority (SUPPORT plan), 2026-11-15 12:00 – 2026-12-01 00:00 UTC",
        "Birch Dairy — Bronze (TENANT plan), 2026-11-01 00:00 – 2026-11-20 00:00 UTC",
        "Birch Dairy — Silver (TENANT plan), 2026-11-20 00:00 – 2026-12-01 00:00 UTC",
        "Birch Dairy — Community (SUPPORT plan), 2026-11-01 00:00 – 2026-12-01 00:00 UTC",
    ]
    assert [(line.period_start, line.period_end) for line in lines[2:4]] == [
        (at(2026, 11, 1), at(2026, 11, 20)),
        (at(2026, 11, 20), at(2026, 12, 1)),
    ]
    # November has 30 days = 2,592,000 s.
    # Acme, from 2026-11-15 12:00: 15.5 days = 1,339,200 s = 31/60 of the month.
    #   Gold      30.00 * 31/60 = 15.50
    #   Priority   9.99 * 31/60 =  5.1615     -> 5.16
    # Birch:
    #   Bronze    10.00 * 19/30 (1,641,600 s) = 6.3333... -> 6.33
    #   Silver    25.00 * 11/30 (  950,400 s) = 9.1666... -> 9.17
    #   Community  0.00 * 30/30               = 0.00 (a zero-priced plan still has its line)
    # Total: 15.50 + 5.16 + 6.33 + 9.17 + 0.00 = 36.16
    assert amounts_of(lines) == [
        Decimal("15.50"),
        Decimal("5.16"),
        Decimal("6.33"),
        Decimal("9.17"),
        Decimal("0.00"),
    ]
    assert invoice.total == Decimal("36.16")
    assert (invoice.currency, invoice.billing_entity_id) == ("EUR", partner.billing_entity_id)
    assert {line.tenant_id for line in lines} == {partner.id}


async def test_each_calendar_month_is_prorated_against_its_own_length(
    db: Database, platform: Platform
) -> None:
    partner = await make_partner(db, platform)
    gold = await make_plan(db, partner, TENANT, "Gold", "100.00")
    standard = await make_plan(db, partner, SUPPORT, "Standard", "10.00")
    community = await make_plan(db, partner, SUPPORT, "Community", "0.00")
    await manage(db, partner, "Cedar Ranch", at(2025, 12, 1), gold, community)
    await manage(db, partner, "Delta Mills", at(2026, 2, 14), gold, standard)

    invoice = await generate(db, platform.principal, partner, at(2026, 1, 15), at(2026, 3, 15))

    # January 2026: 31 days = 2,678,400 s; February: 28 days = 2,419,200 s; March: 31 days.
    # Cedar, the whole period: Jan 15-Feb 1 = 17 days, all of February, Mar 1-15 = 14 days:
    #   Gold      100.00 * (17/31 + 28/28 + 14/31) = 100.00 * 2 = 200.00
    #             (February counted as 30 days would give 100 * 59/30 = 196.67)
    #   Community   0.00
    # Delta, from Feb 14 00:00: Feb 14-Mar 1 = 15 days = 1,296,000 s = 15/28 of February,
    # then 14/31 of March: 15/28 + 14/31 = (465 + 392)/868 = 857/868 = 0.98732718...
    #   Gold      100.00 * 857/868 = 98.7327... -> 98.73
    #   Standard   10.00 * 857/868 =  9.8732... ->  9.87
    #             (rounding each month apart: 5.357.. -> 5.36 plus 4.516.. -> 4.52 = 9.88;
    #              February as 30 days: 5.00 + 4.52 = 9.52)
    # Total: 200.00 + 0.00 + 98.73 + 9.87 = 308.60
    assert amounts_of(await lines_of(db, invoice)) == [
        Decimal("200.00"),
        Decimal("0.00"),
        Decimal("98.73"),
        Decimal("9.87"),
    ]
    assert invoice.total == Decimal("308.60")


@pytest.mark.parametrize(
    ("currency", "prices", "amounts", "total"),
    [
        # From Nov 16 00:00: 15 of November's 30 days = 1/2 of the month.
        #   1001 * 1/2 = 500.5 -> 501 (half-up; half-even would give 500)
        #    333 * 1/2 = 166.5 -> 167
        # Total: 501 + 167 = 668 (the sum of the rounded lines; the exact sum rounds to 667)
        pytest.param("JPY", ("1001", "333"), ("501", "167"), "668", id="JPY"),
        #   10.001 * 1/2 = 5.0005 -> 5.001 (to cents it would be 5.00)
        #    0.333 * 1/2 = 0.1665 -> 0.167
        # Total: 5.001 + 0.167 = 5.168 (the exact sum, 5.167, would round to 5.167)
        pytest.param("BHD", ("10.001", "0.333"), ("5.001", "0.167"), "5.168", id="BHD"),
    ],
)
async def test_currency_precision_half_up_once_per_line(
    db: Database,
    platform: Platform,
    currency: str,
    prices: tuple[str, str],
    amounts: tuple[str, str],
    total: str,
) -> None:
    partner = await make_partner(db, platform, currency=currency)
    await manage(
        db,
        partner,
        "Edo Orchards",
        at(2026, 11, 16),
        await make_plan(db, partner, TENANT, "Ume", prices[0]),
        await make_plan(db, partner, SUPPORT, "Sakura", prices[1]),
    )

    invoice = await generate(db, platform.principal, partner, at(2026, 11, 1), at(2026, 12, 1))

    assert amounts_of(await lines_of(db, invoice)) == [Decimal(a) for a in amounts]
    assert (invoice.total, invoice.currency) == (Decimal(total), currency)


async def test_a_period_that_ended_the_second_it_began_bills_nothing(
    db: Database, platform: Platform
) -> None:
    partner = await make_partner(db, platform)
    basic = await make_plan(db, partner, TENANT, "Basic", "10.00")
    premium = await make_plan(db, partner, TENANT, "Premium", "20.00")
    managed = await manage(
        db,
        partner,
        "Gale Farm",
        at(2026, 11, 1),
        basic,
        await make_plan(db, partner, SUPPORT, "S", "0"),
    )
    # Two changes within one second (to Premium and straight back) leave a zero-length
    # Premium period; the second change is stamped at 12:00:30, shown to the second.
    await change_plan(db, partner, managed, premium, at(2026, 11, 10, 12, 0, 30))
    await change_plan(db, partner, managed, basic, at(2026, 11, 10, 12, 0, 30))

    invoice = await generate(db, platform.principal, partner, at(2026, 11, 1), at(2026, 12, 1))

    lines = await lines_of(db, invoice)
    assert [line.description for line in lines] == [
        "Gale Farm — Basic (TENANT plan), 2026-11-01 00:00 – 2026-11-10 12:00:30 UTC",
        "Gale Farm — Basic (TENANT plan), 2026-11-10 12:00:30 – 2026-12-01 00:00 UTC",
        "Gale Farm — S (SUPPORT plan), 2026-11-01 00:00 – 2026-12-01 00:00 UTC",
    ]
    # 9.5 days + 30 s = 820,830 s of 2,592,000: 10.00 * 820,830/2,592,000 = 3.1667... -> 3.17
    # the rest, 1,771,170 s: 10.00 * 1,771,170/2,592,000 = 6.8332... -> 6.83
    assert amounts_of(lines) == [Decimal("3.17"), Decimal("6.83"), Decimal("0.00")]

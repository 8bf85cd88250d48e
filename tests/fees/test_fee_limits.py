"""The money bounds hold for fees: nothing past them is written (LIMIT_EXCEEDED)."""

from decimal import Decimal

from tenantry.db.engine import Database
from tenantry.ledger import service as ledger
from tenantry.ledger.limits import MAX_BALANCE
from tenantry.ledger.models import SystemPurpose, TransactionKind
from tests.fees.conftest import NOVEMBER, Fees
from tests.fees.test_endpoint_fees import codes, fee_runs
from tests.ids import pk_of

MAX_FEE = "1000000000000"  # MAX_AMOUNT: the largest monthly fee a tariff takes


async def test_a_fee_past_the_charge_bound_is_refused(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, MAX_FEE)
    await fees.endpoint(customer, "2026-09-01T00:00:00")
    # One month costs MAX_FEE = MAX_CHARGE, which is allowed; two months cost twice that.
    payload = await fees.charge("2026-10-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00")

    assert (payload["run"], codes(payload)) == (None, [("input.periodEnd", "LIMIT_EXCEEDED")])
    assert await fee_runs(db) == 0
    november = await fees.charge(*NOVEMBER)
    assert november["userErrors"] == []
    assert await fees.balances(customer=customer) == {"customer": "-1000000000000.00"}


async def test_a_fee_taking_a_balance_past_its_bound_is_refused(fees: Fees, db: Database) -> None:
    tenant = await fees.tenant(fees.root)
    customer = await fees.customer(tenant, MAX_FEE)
    await fees.endpoint(customer, "2026-09-01T00:00:00")
    # The customer's balance is one fee short of the bound (as years of usage could leave it).
    account_id = pk_of(customer["account"]["id"])
    async with db.write() as session:
        funding = await ledger.system_account(
            session, root_tenant_id=fees.root.id, purpose=SystemPurpose.ADJUSTMENTS, currency="EUR"
        )
        debt = MAX_BALANCE - Decimal(MAX_FEE) + 1
        await ledger.post_transfer(
            session,
            tenant_id=fees.root.id,
            kind=TransactionKind.DEBIT,
            legs=[
                ledger.Leg(account_id, -debt, TransactionKind.DEBIT),
                ledger.Leg(funding.id, debt, TransactionKind.DEBIT),
            ],
        )

    payload = await fees.charge(*NOVEMBER)

    assert (payload["run"], codes(payload)) == (None, [("input.periodEnd", "LIMIT_EXCEEDED")])
    assert await fee_runs(db) == 0
    assert await fees.balances(customer=customer) == {"customer": f"{-debt:f}.00"}

"""Random sequences of money movements agree with a plain model of the balances."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.core.errors import DomainError, ErrorCode
from tenantry.db.engine import Database
from tenantry.ledger import service as ledger
from tenantry.ledger.models import Account, TransactionKind
from tenantry.ledger.service import AdjustmentDirection, Leg
from tests.fixtures.world import World
from tests.ledger.conftest import adjust, customer_account, reload, set_limits, top_up

Action = Literal["top_up", "credit", "debit", "usage"]

# Account 0 may go 5.00 below zero; account 1 may not.
CREDIT_LIMITS = (Decimal("5.00"), Decimal(0))


@dataclass(frozen=True)
class Step:
    action: Action
    account: int  # for usage, the payer; the other account is paid
    amount: Decimal


people_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("30"), places=2)
usage_amounts = st.just(Decimal("0.000400")) | st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("3"), places=6
)
steps = st.lists(
    st.builds(
        Step,
        st.sampled_from(["top_up", "credit", "debit"]),
        st.integers(0, 1),
        people_amounts,
    )
    | st.builds(Step, st.just("usage"), st.integers(0, 1), usage_amounts),
    min_size=1,
    max_size=12,
)


async def apply(db: Database, world: World, accounts: list[Account], step: Step) -> None:
    account = accounts[step.account]
    actor = world.root_admin
    amount = str(step.amount)
    if step.action == "top_up":
        await top_up(db, actor, account, amount)
    elif step.action == "credit":
        await adjust(db, actor, account, AdjustmentDirection.CREDIT, amount)
    elif step.action == "debit":
        await adjust(db, actor, account, AdjustmentDirection.DEBIT, amount)
    else:
        payee = accounts[1 - step.account]
        charge, revenue = TransactionKind.USAGE_CHARGE, TransactionKind.USAGE_REVENUE
        async with db.write() as session:
            await ledger.post_transfer(
                session,
                tenant_id=world.root.id,
                kind=charge,
                legs=[Leg(account.id, -step.amount, charge), Leg(payee.id, step.amount, revenue)],
            )


def expected_after(balances: list[Decimal], step: Step) -> list[Decimal] | None:
    """The model: balances after ``step``, or None if it must be refused."""
    after = list(balances)
    sign = -1 if step.action in ("debit", "usage") else 1
    after[step.account] += sign * step.amount
    if step.action == "usage":
        after[1 - step.account] += step.amount
    if step.action == "debit" and after[step.account] < -CREDIT_LIMITS[step.account]:
        return None
    return after


# The world is shared by every example (hence the suppressed health check); each example
# opens fresh accounts, so it starts from zero balances without emptying any table.
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=steps)
async def test_balances_follow_the_model(db: Database, world: World, steps: list[Step]) -> None:
    accounts = [await customer_account(db, world.a1x), await customer_account(db, world.a1)]
    for account, limit in zip(accounts, CREDIT_LIMITS, strict=True):
        await set_limits(db, account, credit_limit=limit)
    model = [Decimal(0), Decimal(0)]

    for step in steps:
        after = expected_after(model, step)
        try:
            await apply(db, world, accounts, step)
        except DomainError as error:
            assert after is None, error
            assert [p.code for p in error.problems] == [ErrorCode.INSUFFICIENT_FUNDS]
        else:
            assert after is not None, step
            model = after

    assert [(await reload(db, account)).balance for account in accounts] == model
    async with db.read() as session:
        assert await ledger.check_invariants(session) == []

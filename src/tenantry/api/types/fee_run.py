"""Runs of monthly endpoint fees."""

from datetime import datetime

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.types.money import Money, to_money
from tenantry.fees.models import FeeRun


@strawberry.type(
    name="FeeRun",
    description="A run of monthly endpoint fees over one period (platform admins start it; a "
    "periodic job runs it for the month just ended). Each endpoint's customer pays its tenant "
    "by the customer's tariff, and each tenant pays its parent by its tenant tariff, prorated "
    "by the time the endpoint existed in the period, up to the root, as ENDPOINT_FEE / "
    "ENDPOINT_FEE_REVENUE transactions. Running a period again charges nothing twice.",
)
class FeeRunType(relay.Node):
    id: relay.NodeID[int]
    period_start: datetime = strawberry.field(description="Start of the period, inclusive.")
    period_end: datetime = strawberry.field(description="Exclusive.")
    created_at: datetime = strawberry.field(description="When the run charged the fees.")
    endpoint_count: int = strawberry.field(
        description="Endpoints that existed at some time in the period, free ones included."
    )

    @strawberry.field(description="The total charged to customers, per currency.")
    async def charged(self, info: Info) -> list[Money]:
        rows = await info.context.loaders.fee_run_charged.load(self.id)
        return [to_money(amount, currency) for currency, amount in rows]


def to_gql_fee_run(row: FeeRun) -> FeeRunType:
    return FeeRunType(
        id=row.id,
        period_start=row.period_start,
        period_end=row.period_end,
        created_at=row.created_at,
        endpoint_count=row.endpoint_count,
    )

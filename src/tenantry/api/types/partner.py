"""Billing entities and partner plans."""

from datetime import datetime

import strawberry
from strawberry import relay

from tenantry.api.types.enums import PlanKind
from tenantry.api.types.money import Money, to_money
from tenantry.partners.models import BillingEntity, Plan


@strawberry.type(
    name="BillingEntity", description="A legal entity of the platform that issues invoices."
)
class BillingEntityType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Its legal name; unique.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    code: str = strawberry.field(description='Its invoice numbers\' prefix, e.g. "PLT".')


def to_gql_billing_entity(row: BillingEntity) -> BillingEntityType:
    return BillingEntityType(id=row.id, name=row.name, country=row.country, code=row.code)


@strawberry.type(name="Plan", description="An entry of a partner's plan catalog.")
class PlanType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Up to 200 characters.")
    kind: PlanKind = strawberry.field(description="TENANT (workspace) or SUPPORT tier.")
    created_at: datetime = strawberry.field(description="When it was added to the catalog.")
    _row: strawberry.Private[Plan]

    @strawberry.field(description="In the partner's currency.")
    def monthly_price(self) -> Money:
        return to_money(self._row.monthly_price, self._row.currency)


def to_gql_plan(row: Plan) -> PlanType:
    return PlanType(id=row.id, name=row.name, kind=row.kind, created_at=row.created_at, _row=row)

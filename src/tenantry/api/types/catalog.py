"""Sponsor operators and tariffs."""

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.types.money import Money, to_money
from tenantry.core.decimals import plain
from tenantry.operators.models import SponsorOperator
from tenantry.tariffs.models import Tariff, UsageKind

if TYPE_CHECKING:
    from tenantry.api.types.tenant import TenantType

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]

strawberry.enum(
    UsageKind,
    description="DATA quantities are in MB, SMS in messages, VOICE in seconds. "
    "Prices are per MB, per message, per minute.",
)

UNITS = (
    "Units: DATA quantities in MB, SMS in messages, VOICE in seconds; unitPrice is per MB, "
    'per message, per minute. VOICE "60/1" billing (a first minute, then per second) is '
    '{minimum: "60", increment: "1"}; "60/60" (whole minutes) is {minimum: "60", '
    'increment: "60"}.'
)
UNIT_PRICE = "Per MB (DATA), per message (SMS), per minute (VOICE)."
INCREMENT = (
    "In the quantity's unit (VOICE: seconds): the billable quantity is rounded up to a "
    "multiple of this."
)
MINIMUM = (
    "In the quantity's unit (VOICE: seconds): a record is billed for at least this much "
    "(a record of zero is billed nothing)."
)


@strawberry.type(name="SponsorOperator")
class SponsorOperatorType(relay.Node):
    id: relay.NodeID[int]
    name: str


def to_gql_operator(row: SponsorOperator) -> SponsorOperatorType:
    return SponsorOperatorType(id=row.id, name=row.name)


@strawberry.type(description=UNITS)
class TariffRate:
    kind: UsageKind
    unit_price: Decimal = strawberry.field(description=UNIT_PRICE)
    increment: Decimal = strawberry.field(description=INCREMENT)
    minimum: Decimal = strawberry.field(description=MINIMUM)


@strawberry.type(
    name="Tariff",
    description="A price list owned by a tenant, in its currency. You read the tariffs you own, "
    "and read-only those you and your customers pay.",
)
class TariffType(relay.Node):
    id: relay.NodeID[int]
    name: str
    currency: str
    _row: strawberry.Private[Tariff]

    @strawberry.field(
        description="Null when you cannot see the owner: a sub-tenant reads the tariff its "
        "parent charges it and those its customers pay, not its parent."
    )
    async def owner(self, info: Info) -> TenantRef | None:
        from tenantry.api.types.tenant import to_gql_tenant

        row = await info.context.loaders.tenant_by_id.load(self._row.tenant_id)
        return None if row is None else to_gql_tenant(row)

    @strawberry.field
    async def rates(self, info: Info) -> list[TariffRate]:
        rows = await info.context.loaders.tariff_rates.load(self.id)
        return [
            TariffRate(
                kind=r.kind,
                unit_price=plain(r.unit_price),
                increment=plain(r.increment),
                minimum=plain(r.minimum),
            )
            for r in rows
        ]

    @strawberry.field
    def monthly_fee_per_endpoint(self) -> Money | None:
        fee = self._row.monthly_fee_per_endpoint
        return None if fee is None else to_money(fee, self.currency)


def to_gql_tariff(row: Tariff) -> TariffType:
    return TariffType(id=row.id, name=row.name, currency=row.currency, _row=row)

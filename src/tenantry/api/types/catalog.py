"""Sponsor operators and tariffs."""

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, page_request
from tenantry.api.types.enums import expose_enum
from tenantry.api.types.money import Money
from tenantry.operators.models import SponsorOperator
from tenantry.tariffs.models import Tariff, UsageKind

if TYPE_CHECKING:
    from tenantry.api.types.tariff_version import TariffVersionType
    from tenantry.api.types.tenant import TenantType

TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]
TariffVersionRef = Annotated[
    "TariffVersionType", strawberry.lazy("tenantry.api.types.tariff_version")
]

expose_enum(
    UsageKind,
    "DATA quantities are in MB, SMS in messages, VOICE in seconds. "
    "Prices are per MB, per message, per minute.",
    {
        UsageKind.DATA: "Mobile data: quantities in MB, priced per MB.",
        UsageKind.SMS: "Text messages: quantities in messages, priced per message.",
        UsageKind.VOICE: "Calls: quantities in seconds, priced per minute.",
    },
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


@strawberry.type(
    name="SponsorOperator",
    description="An operator of the platform's catalog; each endpoint uses one.",
)
class SponsorOperatorType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Unique in the catalog.")


def to_gql_operator(row: SponsorOperator) -> SponsorOperatorType:
    return SponsorOperatorType(id=row.id, name=row.name)


@strawberry.type(description=UNITS)
class TariffRate:
    kind: UsageKind = strawberry.field(description="The usage kind this rate prices.")
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
    name: str = strawberry.field(description="The owner's name for it.")
    currency: str = strawberry.field(
        description="ISO 4217 code: its owner's currency, which every price is in."
    )
    _row: strawberry.Private[Tariff]

    @strawberry.field(
        description="Null when you cannot see the owner: a sub-tenant reads the tariff its "
        "parent charges it and those its customers pay, not its parent."
    )
    async def owner(self, info: Info) -> TenantRef | None:
        from tenantry.api.types.tenant import to_gql_tenant

        row = await info.context.loaders.tenant_by_id.load(self._row.tenant_id)
        return None if row is None else to_gql_tenant(row)

    @strawberry.field(description="The rates of the version in force now.")
    async def rates(self, info: Info) -> list[TariffRate]:
        from tenantry.api.types.tariff_version import to_gql_rates

        version = await info.context.loaders.current_version.load(self.id)
        if version is None:
            return []
        return to_gql_rates(await info.context.loaders.version_rates.load(version.id))

    @strawberry.field(description="The fee of the version in force now.")
    async def monthly_fee_per_endpoint(self, info: Info) -> Money | None:
        from tenantry.api.types.tariff_version import fee_of

        return fee_of(await info.context.loaders.current_version.load(self.id), self.currency)

    @strawberry.field(description="Every version, newest (latest effective) first.")
    async def versions(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[TariffVersionRef]:
        from tenantry.api.types.tariff_version import versions_connection

        request = page_request(info.context.settings, first, after, last, before)
        return await versions_connection(info, self.id, request)


def to_gql_tariff(row: Tariff) -> TariffType:
    return TariffType(id=row.id, name=row.name, currency=row.currency, _row=row)

"""Tariff versions and the preview of a revision."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.info import Info
from tenantry.api.relay import Connection, build_connection
from tenantry.api.types.money import Money, to_money
from tenantry.core.decimals import plain
from tenantry.core.pagination import PageRequest
from tenantry.tariffs import payers
from tenantry.tariffs.models import TariffRate as TariffRateRow
from tenantry.tariffs.models import TariffVersion
from tenantry.tariffs.preview import Preview, PreviewLine

if TYPE_CHECKING:
    from tenantry.api.types.catalog import TariffRate, TariffType
    from tenantry.api.types.customer import CustomerType
    from tenantry.api.types.tenant import TenantType
    from tenantry.api.types.user import UserType

TariffRef = Annotated["TariffType", strawberry.lazy("tenantry.api.types.catalog")]
TariffRateRef = Annotated["TariffRate", strawberry.lazy("tenantry.api.types.catalog")]
TenantRef = Annotated["TenantType", strawberry.lazy("tenantry.api.types.tenant")]
CustomerRef = Annotated["CustomerType", strawberry.lazy("tenantry.api.types.customer")]
UserRef = Annotated["UserType", strawberry.lazy("tenantry.api.types.user")]


def to_gql_rates(rows: list[TariffRateRow]) -> list["TariffRate"]:
    from tenantry.api.types.catalog import TariffRate

    return [
        TariffRate(
            kind=r.kind,
            unit_price=plain(r.unit_price),
            increment=plain(r.increment),
            minimum=plain(r.minimum),
        )
        for r in rows
    ]


def fee_of(version: TariffVersion | None, currency: str) -> Money | None:
    if version is None or version.monthly_fee_per_endpoint is None:
        return None
    return to_money(version.monthly_fee_per_endpoint, currency)


@strawberry.type(
    name="TariffVersion",
    description="A tariff's prices from effectiveFrom until the next version takes effect. "
    "The first version also prices usage from before it.",
)
class TariffVersionType(relay.Node):
    id: relay.NodeID[int]
    effective_from: datetime = strawberry.field(
        description="When its prices take effect (the first version: when the tariff was created)."
    )
    created_at: datetime = strawberry.field(description="When the revision was made.")
    _row: strawberry.Private[TariffVersion]

    @strawberry.field(description="The tariff it is a version of.")
    async def tariff(self, info: Info) -> TariffRef:
        from tenantry.api.types.catalog import to_gql_tariff

        row = await info.context.loaders.tariff_by_id.load(self._row.tariff_id)
        assert row is not None, "a version is read through its tariff's scope"
        return to_gql_tariff(row)

    @strawberry.field(description="When the next version takes effect; null for the latest.")
    async def effective_to(self, info: Info) -> datetime | None:
        newest_first = await info.context.loaders.tariff_versions.load(self._row.tariff_id)
        later = [v.effective_from for v in newest_first if v.effective_from > self.effective_from]
        return min(later, default=None)

    @strawberry.field(description="Its rates, one per usage kind it prices.")
    async def rates(self, info: Info) -> list[TariffRateRef]:
        return to_gql_rates(await info.context.loaders.version_rates.load(self.id))

    @strawberry.field(
        description="What each endpoint of a payer is charged a month, in the tariff's "
        "currency; null: no monthly fee."
    )
    async def monthly_fee_per_endpoint(self, info: Info) -> Money | None:
        tariff = await info.context.loaders.tariff_by_id.load(self._row.tariff_id)
        return None if tariff is None else fee_of(self._row, tariff.currency)

    @strawberry.field(description="Who made the revision; null when you cannot see them.")
    async def actor(self, info: Info) -> UserRef | None:
        from tenantry.api.types.user import to_gql_user

        if self._row.actor_user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self._row.actor_user_id)
        return None if row is None else to_gql_user(row)


def to_gql_tariff_version(row: TariffVersion) -> TariffVersionType:
    return TariffVersionType(
        id=row.id, effective_from=row.effective_from, created_at=row.created_at, _row=row
    )


async def versions_connection(
    info: Info, tariff_id: int, request: PageRequest
) -> Connection[TariffVersionType]:
    """A tariff's versions, newest first. A tariff has few: they are paged in memory, the
    cursor being a version's id."""
    versions = await info.context.loaders.tariff_versions.load(tariff_id)

    async def count() -> int:
        return len(versions)

    page = request.within(versions, key=lambda v: v.id)
    return build_connection(page, to_gql_tariff_version, count)


@strawberry.type(
    description="One payer of the tariff: a customer (its tariff) or a sub-tenant (its "
    "tenant tariff), with what its usage in the period cost and would have cost."
)
class TariffPreviewLine:
    current: Money = strawberry.field(
        description="What its usage cost, by the versions in force when it occurred."
    )
    proposed: Money = strawberry.field(
        description="What the same usage would have cost by the proposed rates."
    )
    _line: strawberry.Private[PreviewLine]

    @strawberry.field(
        description="The sub-tenant paying by it (its tenant tariff); null when the payer is a "
        "customer, or a tenant you cannot see."
    )
    async def payer_tenant(self, info: Info) -> TenantRef | None:
        from tenantry.api.types.tenant import to_gql_tenant

        if self._line.payer_kind != payers.TENANT:
            return None
        row = await info.context.loaders.tenant_by_id.load(self._line.payer_id)
        return None if row is None else to_gql_tenant(row)

    @strawberry.field(
        description="The customer paying by it; null when the payer is a tenant, or a "
        "customer you cannot see."
    )
    async def payer_customer(self, info: Info) -> CustomerRef | None:
        from tenantry.api.types.customer import to_gql_customer

        if self._line.payer_kind != payers.CUSTOMER:
            return None
        row = await info.context.loaders.customer_by_id.load(self._line.payer_id)
        return None if row is None else to_gql_customer(row)


@strawberry.type(
    description="What a tariff change would have done to past usage: per payer, what its "
    "usage in [from, to) cost (each record by the version in force when it occurred) and "
    "would have cost by the proposed rates, each record to the millionth and summed, as "
    "usage charges reach the ledger. Usage only: monthly fees are not previewed."
)
class TariffPreview:
    tariff: TariffRef = strawberry.field(description="The tariff previewed, as it is now.")
    from_: datetime = strawberry.field(name="from", description="Start of the period, inclusive.")
    to: datetime = strawberry.field(description="Exclusive.")
    lines: list[TariffPreviewLine] = strawberry.field(
        description="One per payer you can see: customers, then sub-tenants, oldest first."
    )
    current: list[Money] = strawberry.field(description="The total, per currency.")
    proposed: list[Money] = strawberry.field(description="The total, per currency.")


def to_gql_preview(preview: Preview) -> TariffPreview:
    from tenantry.api.types.catalog import to_gql_tariff

    currency = preview.tariff.currency
    return TariffPreview(
        tariff=to_gql_tariff(preview.tariff),
        from_=preview.since,
        to=preview.until,
        lines=[
            TariffPreviewLine(
                current=to_money(line.current, currency),
                proposed=to_money(line.proposed, currency),
                _line=line,
            )
            for line in preview.lines
        ],
        current=[to_money(preview.current, currency)],
        proposed=[to_money(preview.proposed, currency)],
    )

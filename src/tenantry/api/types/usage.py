"""Usage for a date range: totals per kind, and rows per endpoint."""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.errors import ClientError
from tenantry.api.info import Info
from tenantry.api.loaders.usage import TotalsKey
from tenantry.api.relay import page_info, page_request
from tenantry.api.types.money import Money, to_money
from tenantry.core.decimals import plain
from tenantry.core.pagination import encode_cursor
from tenantry.tariffs.models import UsageKind
from tenantry.usage import repository as repo
from tenantry.usage.repository import UsageOwner, Window, row_key

if TYPE_CHECKING:
    from tenantry.api.types.customer import EndpointType

QUANTITY = "As recorded (before minimums and increments): MB, messages, or seconds for VOICE."

EndpointRef = Annotated["EndpointType", strawberry.lazy("tenantry.api.types.customer")]


@strawberry.type
class UsageTotal:
    kind: UsageKind
    quantity: Decimal = strawberry.field(description=QUANTITY)
    cost: Money = strawberry.field(description="What this tenant or customer was charged for it.")
    revenue: Money = strawberry.field(
        description="What this tenant charged the level below for it."
    )


@strawberry.type
class EndpointUsage:
    kind: UsageKind
    quantity: Decimal = strawberry.field(description=QUANTITY)
    cost: Money
    _endpoint_id: strawberry.Private[int]

    @strawberry.field
    async def endpoint(self, info: Info) -> EndpointRef:
        from tenantry.api.types.customer import to_gql_endpoint

        row = await info.context.loaders.endpoint_by_id.load(self._endpoint_id)
        assert row is not None  # rows are only of endpoints in the viewer's scope
        return to_gql_endpoint(row)


@strawberry.type
class EndpointUsageEdge:
    cursor: str
    node: EndpointUsage


@strawberry.type
class EndpointUsageConnection:
    edges: list[EndpointUsageEdge]
    page_info: relay.PageInfo


@strawberry.type(description="Usage in [from, to): totals per kind and rows per endpoint.")
class UsageSummary:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    _owner: strawberry.Private[UsageOwner]
    _currency: strawberry.Private[str]

    @property
    def _window(self) -> Window:
        return Window(self.from_, self.to)

    @strawberry.field
    async def totals(self, info: Info) -> list[UsageTotal]:
        rows = await info.context.loaders.usage_totals.load(TotalsKey(self._owner, self._window))
        return [
            UsageTotal(
                kind=r.kind,
                quantity=plain(r.sums.quantity),
                cost=to_money(r.sums.cost, self._currency),
                revenue=to_money(r.sums.revenue, self._currency),
            )
            for r in rows
        ]

    @strawberry.field(description="One row per endpoint and kind, by endpoint.")
    async def endpoints(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> EndpointUsageConnection:
        request = page_request(info.context.settings, first, after)
        async with info.context.db.read() as session:
            page = await repo.endpoint_rows(
                session, info.context.actor.scope, self._owner, self._window, request
            )
        edges = [
            EndpointUsageEdge(
                cursor=encode_cursor(row_key(r)),
                node=EndpointUsage(
                    kind=UsageKind(r.kind),
                    quantity=plain(r.quantity),
                    cost=to_money(r.cost, self._currency),
                    _endpoint_id=r.endpoint_id,
                ),
            )
            for r in page.items
        ]
        return EndpointUsageConnection(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], page.has_next, request),
        )


def usage_summary(
    owner: UsageOwner, currency: str, since: datetime, until: datetime
) -> UsageSummary:
    if since.tzinfo is None or until.tzinfo is None:
        raise ClientError("'from' and 'to' need a UTC offset.")
    if since > until:
        raise ClientError("'from' must not be after 'to'.")
    return UsageSummary(from_=since, to=until, _owner=owner, _currency=currency)

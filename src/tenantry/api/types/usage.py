"""Usage for a date range: totals per kind, and rows per endpoint."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from tenantry.api.errors import ClientError
from tenantry.api.info import Info
from tenantry.api.loaders.usage import TotalsKey
from tenantry.api.relay import AfterArg, BeforeArg, FirstArg, LastArg, page_info, page_request
from tenantry.api.types.money import Money, to_money
from tenantry.core.decimals import plain
from tenantry.core.pagination import encode_cursor
from tenantry.tariffs.models import UsageKind
from tenantry.usage import repository as repo
from tenantry.usage.repository import UsageOwner, Window, row_key

if TYPE_CHECKING:
    from tenantry.api.types.customer import EndpointType

QUANTITY = "As recorded (before minimums and increments): MB, messages, or seconds for VOICE."
# The range arguments of every `usage` field.
FromArg = Annotated[
    datetime,
    strawberry.argument(
        name="from", description="Start of the range, inclusive; needs a UTC offset."
    ),
]
ToArg = Annotated[
    datetime,
    strawberry.argument(
        description="End of the range, exclusive; needs a UTC offset, not before `from`."
    ),
]

EndpointRef = Annotated["EndpointType", strawberry.lazy("tenantry.api.types.customer")]


@strawberry.type(description="One usage kind's total over the range, with its money.")
class UsageTotal:
    kind: UsageKind = strawberry.field(description="The usage kind totalled.")
    quantity: Decimal = strawberry.field(description=QUANTITY)
    cost: Money = strawberry.field(description="What this tenant or customer was charged for it.")
    revenue: Money = strawberry.field(
        description="What this tenant charged the level below for it."
    )


@strawberry.type(description="One endpoint's usage of one kind over the range.")
class EndpointUsage:
    kind: UsageKind = strawberry.field(description="The usage kind totalled.")
    quantity: Decimal = strawberry.field(description=QUANTITY)
    cost: Money = strawberry.field(
        description="What the tenant or customer asked about was charged for it."
    )
    _endpoint_id: strawberry.Private[int]

    @strawberry.field(description="The endpoint whose usage this is.")
    async def endpoint(self, info: Info) -> EndpointRef:
        from tenantry.api.types.customer import to_gql_endpoint

        row = await info.context.loaders.endpoint_by_id.load(self._endpoint_id)
        assert row is not None  # rows are only of endpoints in the viewer's scope
        return to_gql_endpoint(row)


@strawberry.type(description="An edge in a connection.")
class EndpointUsageEdge:
    cursor: str = strawberry.field(description="A cursor for use in pagination")
    node: EndpointUsage = strawberry.field(description="The item at the end of the edge")


@strawberry.type(description="A page of usage rows, one per endpoint and kind.")
class EndpointUsageConnection:
    edges: list[EndpointUsageEdge] = strawberry.field(
        description="Contains the nodes in this connection"
    )
    page_info: relay.PageInfo = strawberry.field(description="Pagination data for this connection")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many rows (endpoint and kind) the whole list holds.")
    async def total_count(self) -> int:
        return await self._count()


@strawberry.type(description="Usage in [from, to): totals per kind and rows per endpoint.")
class UsageSummary:
    from_: datetime = strawberry.field(name="from", description="Start of the range, inclusive.")
    to: datetime = strawberry.field(description="End of the range, exclusive.")
    _owner: strawberry.Private[UsageOwner]
    _currency: strawberry.Private[str]

    @property
    def _window(self) -> Window:
        return Window(self.from_, self.to)

    @strawberry.field(
        description="One per usage kind with usage in the range (none for the others)."
    )
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
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> EndpointUsageConnection:
        context = info.context
        request = page_request(context.settings, first, after, last, before)
        async with context.db.read() as session:
            page = await repo.endpoint_rows(
                session, context.actor.scope, self._owner, self._window, request
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

        async def count() -> int:
            async with context.db.read() as session:
                return await repo.endpoint_row_count(
                    session, context.actor.scope, self._owner, self._window
                )

        return EndpointUsageConnection(
            edges=edges, page_info=page_info([e.cursor for e in edges], page), _count=count
        )


def usage_summary(
    owner: UsageOwner, currency: str, since: datetime, until: datetime
) -> UsageSummary:
    if since.tzinfo is None or until.tzinfo is None:
        raise ClientError("'from' and 'to' need a UTC offset.")
    if since > until:
        raise ClientError("'from' must not be after 'to'.")
    return UsageSummary(from_=since, to=until, _owner=owner, _currency=currency)

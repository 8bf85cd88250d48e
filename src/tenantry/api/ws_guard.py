"""What HTTP requests go through, for operations over WebSockets too: each operation a
graphql-transport-ws client subscribes to counts against its caller's rate limit, and in
allow-list mode (``persisted_queries_only``) must be registered."""

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from tenantry.api.context import Context
from tenantry.api.errors import request_error
from tenantry.persisted_queries import service as persisted
from tenantry.rate_limits.service import RateLimited, bucket_of, take_request


class GuardedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            # Strawberry closes the socket (4401) for this; nothing to count.
            await super().handle_subscribe(message)
            return
        settings = self.context.settings
        client = self.context.request.client
        bucket = bucket_of(settings, self.context.principal, client.host if client else None)
        payload: Any = message["payload"]
        try:
            async with self.context.db.bare() as connection:
                if bucket is not None:
                    await take_request(connection, *bucket)
                if settings.persisted_queries_only:
                    document = await persisted.document_to_run(
                        connection,
                        payload.get("query"),
                        payload.get("extensions"),
                        allow_list_only=True,
                        may_store=False,
                    )
                    payload["query"] = document.query
        except RateLimited as limited:
            await self._refuse(message, limited.message, "RATE_LIMITED")
            return
        except persisted.PersistedQueryError as error:
            await self._refuse(message, str(error), error.code)
            return
        await super().handle_subscribe(message)

    async def _refuse(self, message: SubscribeMessage, text: str, code: str) -> None:
        refusal = request_error(text, code).formatted
        await self.send_message({"id": message["id"], "type": "error", "payload": [refusal]})

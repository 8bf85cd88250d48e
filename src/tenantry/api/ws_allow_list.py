"""The allow-list (``persisted_queries_only``) over WebSockets: each operation a
graphql-transport-ws client subscribes to must be registered, as over HTTP."""

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from tenantry.api.context import Context
from tenantry.api.errors import request_error
from tenantry.persisted_queries import service as persisted


class AllowListTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        settings = self.context.settings
        if settings.persisted_queries_only and self.connection_acknowledged:
            payload: Any = message["payload"]
            try:
                async with self.context.db.bare() as connection:
                    document = await persisted.document_to_run(
                        connection,
                        payload.get("query"),
                        payload.get("extensions"),
                        allow_list_only=True,
                        may_store=False,
                    )
            except persisted.PersistedQueryError as error:
                refusal = request_error(str(error), error.code).formatted
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal]}
                )
                return
            payload["query"] = document.query
        await super().handle_subscribe(message)

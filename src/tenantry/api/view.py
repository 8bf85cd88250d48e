"""The ``/graphql`` endpoint: Strawberry's ASGI view with our context, JSON and GraphiQL."""

import json
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, overload

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from tenantry.api.context import Context, bearer_token
from tenantry.api.errors import (
    RETRY_AFTER_SECONDS,
    SERVICE_UNAVAILABLE,
    error_response,
    request_error,
)
from tenantry.api.fast_reads import FastReads
from tenantry.api.http_media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    graphql_response_status,
    response_media_type,
)
from tenantry.api.ws_guard import GuardedTransportWS
from tenantry.auth.principal import Principal
from tenantry.auth.service import authenticate_on
from tenantry.db.engine import Database
from tenantry.logs import note_request, request_id_from
from tenantry.persisted_queries import service as persisted
from tenantry.rate_limits.service import RateLimited, bucket_of, take_request
from tenantry.settings import Settings

ASSETS_PATH = "/graphiql-assets"


def graphiql_assets_dir() -> Path:
    """The GraphiQL (with its graphql-ws client) and React bundles, as published, from PyPI."""
    package = resources.files("graphene_django_graphiql_static")
    return Path(str(package / "static" / "graphene_django_graphiql_static"))


HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _error_codes(data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> list[str]:
    """The answer's error codes, in order ("ERROR" for an error without one)."""
    results = data if isinstance(data, list) else [data]
    return [
        str((e.get("extensions") or {}).get("code") or "ERROR")
        for r in results
        for e in r.get("errors") or ()
        if isinstance(e, dict)
    ]


class TextWebSocket(ASGIWebSocketAdapter):
    """Sends every websocket message as a text frame, as graphql-transport-ws requires.

    Strawberry sends a binary frame when ``encode_json`` returns bytes (ours does, for fast
    HTTP responses); graphql-ws, the client of Apollo, Relay, urql and GraphiQL, parses only
    text frames (it takes a binary frame's Blob or Buffer for the message object itself) and
    fails with "Message is missing the 'type' property".
    """

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextWebSocket
    graphql_transport_ws_handler_class = GuardedTransportWS

    def __init__(self, schema: Any, settings: Settings) -> None:
        # Cross-origin WebSocket handshakes are refused (403) unless from these origins.
        super().__init__(
            schema,
            allowed_origins=settings.cors_origins,
            # The legacy graphql-ws protocol has no allow-list check: off in allow-list mode.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,)
            if settings.persisted_queries_only
            else (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.settings = settings
        self.fast_reads: FastReads | None = getattr(schema, "fast_reads", None)
        template = (Path(__file__).parent / "static" / "graphiql.html").read_text()
        self.ide_html = template.replace("{assets}", ASSETS_PATH)

    def db(self, request: Request | WebSocket) -> Database:
        db: Database = request.app.state.db
        return db

    async def principal(self, db: Database, token: str | None) -> Principal | None:
        if token is None:
            return None
        # One statement on the reads pool: no ping, no transaction around it.
        async with db.bare() as connection:
            return await authenticate_on(connection, token)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        # Given by ObserveRequests (api/observe.py), which answers with it in X-Request-Id.
        request_id = request.scope.get("state", {}).get("request_id") or request_id_from(None)
        db = self.db(request)
        token = bearer_token(request.headers)
        # The fast path may have authenticated this token already.
        known = getattr(request.state, "authenticated", None)
        principal = known[1] if known and known[0] == token else await self.principal(db, token)
        if principal is not None:
            note_request(tenant=str(principal.tenant_id), user=str(principal.user_id))
        if isinstance(request, Request):
            await self.take_request(db, request, principal)
        return Context(
            request=request,
            response=response,
            db=db,
            settings=self.settings,
            request_id=request_id,
            principal=principal,
            jobs=getattr(request.app.state, "jobs", None),
        )

    async def take_request(
        self,
        db: Database,
        request: Request,
        who: Principal | None,
    ) -> None:
        """The rate limit (rate_limits/service.py): one statement, or none when off; once per
        request (the fast path takes a token's in its own statement, before the read)."""
        if getattr(request.state, "rate_limited", False):
            return
        request.state.rate_limited = True
        bucket = bucket_of(self.settings, who, request.client.host if request.client else None)
        if bucket is None:
            return
        async with db.bare() as connection:
            await take_request(connection, *bucket)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A persisted query over GET has no `query` parameter either.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def execute_single(  # noqa: PLR0917 (the signature of Strawberry's)
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Runs the document a persisted query names (persisted_queries/service.py)."""
        if not persisted.applies(request_data.extensions, self.settings.persisted_queries_only):
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        try:
            async with context.db.bare() as connection:
                document = await persisted.document_to_run(
                    connection,
                    request_data.query,
                    request_data.extensions,
                    allow_list_only=self.settings.persisted_queries_only,
                    may_store=context.principal is not None,
                )
        except persisted.PersistedQueryError as error:
            return ExecutionResult(data=None, errors=[request_error(str(error), error.code)])
        result = await super().execute_single(
            request,
            request_adapter,
            sub_response,
            context,
            root_value,
            replace(request_data, query=document.query),
        )
        if document.store_as is not None and result.data is not None:
            async with context.db.bare() as connection:
                await persisted.store(connection, document)
        return result

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Browsers cannot set headers on a websocket: graphql-transport-ws clients send
        # {"Authorization": "Bearer ..."} in connection_init instead.
        if context.principal is None and context.connection_params:
            params = {k.lower(): v for k, v in context.connection_params.items()}
            context.principal = await self.principal(context.db, bearer_token(params))
            if context.principal is not None:
                principal = context.principal
                note_request(tenant=str(principal.tenant_id), user=str(principal.user_id))
        accept: UnsetType = UNSET
        return accept

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        note_request(operation="graphiql")
        return HTMLResponse(self.ide_html)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status = None
        if media_type == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict):
            status = graphql_response_status(response_data)
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media_type
        if status is not None and not sub_response.status_code:
            response.status_code = status
        codes = _error_codes(response_data)
        if codes:
            note_request(error_code=codes[0])
        if SERVICE_UNAVAILABLE in codes:
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # A body is bytes, GET parameters (variables, extensions) are text. JSON is UTF-8
        # (RFC 8259), and a request is an object (a batch is a list, which Strawberry
        # refuses with its own message).
        try:
            decoded = json.loads(data if isinstance(data, str) else data.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise HTTPException(400, "The request body is not valid UTF-8.") from error
        except RecursionError as error:
            raise HTTPException(400, "The JSON nests too deeply.") from error
        if isinstance(data, bytes) and not isinstance(decoded, dict | list):
            raise HTTPException(
                400, 'The request body must be a JSON object: {"query": "...", "variables": {}}.'
            )
        return decoded

    @overload
    async def run(
        self, request: Request, context: Context = ..., root_value: None = ...
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Context = ..., root_value: None = ...
    ) -> WebSocket: ...

    async def run(
        self,
        request: Request | WebSocket,
        context: Context = UNSET,
        root_value: None = UNSET,
    ) -> Response | WebSocket:
        """Strawberry answers a malformed request in plain text; clients expect JSON."""
        try:
            if self.fast_reads is not None and isinstance(request, Request):
                fast = await self.fast_reads.answer(request, self.db(request))
                if fast is not None:
                    return fast
            return await super().run(request, context, root_value)
        except RateLimited as limited:
            response = error_response(429, limited.message, "RATE_LIMITED")
            response.headers["Retry-After"] = str(limited.retry_after_seconds)
            return response
        except HTTPException as error:
            code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            note_request(error_code=code)
            return error_response(error.status_code, error.reason, code)

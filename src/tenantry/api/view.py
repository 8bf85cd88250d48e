"""The ``/graphql`` endpoint: Strawberry's ASGI view with our context, JSON and GraphiQL."""

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, overload

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types.unset import UNSET, UnsetType

from tenantry.api.context import Context, bearer_token
from tenantry.api.errors import RETRY_AFTER_SECONDS, SERVICE_UNAVAILABLE, error_response
from tenantry.api.fast_reads import FastReads
from tenantry.auth.principal import Principal
from tenantry.auth.service import authenticate_on
from tenantry.db.engine import Database
from tenantry.logs import note_request, request_id_from
from tenantry.settings import Settings

ASSETS_PATH = "/graphiql-assets"


def graphiql_assets_dir() -> Path:
    """The GraphiQL (with its graphql-ws client) and React bundles, as published, from PyPI."""
    package = resources.files("graphene_django_graphiql_static")
    return Path(str(package / "static" / "graphene_django_graphiql_static"))


HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _unavailable(data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> bool:
    results = data if isinstance(data, list) else [data]
    errors = [e for r in results for e in r.get("errors") or ()]
    return any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == SERVICE_UNAVAILABLE
        for e in errors
    )


def _first_error_code(data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> str | None:
    for result in data if isinstance(data, list) else [data]:
        for error in result.get("errors") or ():
            if isinstance(error, dict):
                return str((error.get("extensions") or {}).get("code") or "ERROR")
    return None


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

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema)
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
        return Context(
            request=request,
            response=response,
            db=db,
            settings=self.settings,
            request_id=request_id,
            principal=principal,
            jobs=getattr(request.app.state, "jobs", None),
        )

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

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        code = _first_error_code(response_data)
        if code is not None:
            note_request(error_code=code)
        if _unavailable(response_data):
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
        except HTTPException as error:
            code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            note_request(error_code=code)
            return error_response(error.status_code, error.reason, code)

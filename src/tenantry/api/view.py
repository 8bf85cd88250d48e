"""The ``/graphql`` endpoint: Strawberry's ASGI view with our context, JSON and GraphiQL."""

import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types.unset import UNSET, UnsetType

from tenantry.api.context import Context
from tenantry.api.errors import RETRY_AFTER_SECONDS, SERVICE_UNAVAILABLE
from tenantry.auth.principal import Principal
from tenantry.auth.service import authenticate
from tenantry.db.engine import Database
from tenantry.settings import Settings

ASSETS_PATH = "/graphiql-assets"


def graphiql_assets_dir() -> Path:
    """The GraphiQL, React and graphql-ws bundles, as published, from a PyPI package."""
    package = resources.files("graphene_django_graphiql_static")
    return Path(str(package / "static" / "graphene_django_graphiql_static"))


def _unavailable(data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> bool:
    results = data if isinstance(data, list) else [data]
    errors = [e for r in results for e in r.get("errors") or ()]
    return any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == SERVICE_UNAVAILABLE
        for e in errors
    )


def _bearer(headers: Any) -> str | None:
    value = headers.get("authorization") if headers is not None else None
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema)
        self.settings = settings
        template = (Path(__file__).parent / "static" / "graphiql.html").read_text()
        self.ide_html = template.replace("{assets}", ASSETS_PATH)

    def db(self, request: Request | WebSocket) -> Database:
        db: Database = request.app.state.db
        return db

    async def principal(self, db: Database, token: str | None) -> Principal | None:
        if token is None:
            return None
        async with db.read() as session:
            return await authenticate(session, token)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        if isinstance(response, Response):
            response.headers["X-Request-Id"] = request_id
        db = self.db(request)
        return Context(
            request=request,
            response=response,
            db=db,
            settings=self.settings,
            request_id=request_id,
            principal=await self.principal(db, _bearer(request.headers)),
            jobs=getattr(request.app.state, "jobs", None),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Browsers cannot set headers on a websocket: graphql-transport-ws clients send
        # {"Authorization": "Bearer ..."} in connection_init instead.
        if context.principal is None and context.connection_params:
            params = {k.lower(): v for k, v in context.connection_params.items()}
            context.principal = await self.principal(context.db, _bearer(params))
        accept: UnsetType = UNSET
        return accept

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.ide_html)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if _unavailable(response_data):
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

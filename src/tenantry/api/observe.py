"""Every request, observed once: its id, one access log line, and its metrics.

An ASGI middleware around the whole application (GraphQL, downloads, health checks,
WebSockets). It gives the request its id (the caller's ``X-Request-Id`` when short and
plain, else a new one), which every log line written during the request carries, answers
with it in ``X-Request-Id``, and when the request ends writes the access line (method, path
without its query string — signed download links never reach the logs — status, duration,
and what the GraphQL layer noted: tenant, user, operation, read path, error code).
"""

import logging
from collections.abc import Iterator
from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from tenantry.logs import CURRENT_REQUEST, RequestLog, note_request, request_id_from
from tenantry.metrics import observe_request, operation_label

log = logging.getLogger("tenantry.access")

_ROUTES = {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _route(scope: Scope, entry: RequestLog) -> str:
    path: str = scope.get("path", "")
    if path == "/graphql":
        return operation_label(entry.operation) if scope["type"] == "http" else "websocket"
    if path in _ROUTES:
        return _ROUTES[path]
    if path.startswith("/reports/"):
        return "report_download"
    if path.startswith("/graphiql-assets/"):
        return "graphiql_assets"
    return "other"


def _outcome(status: int, entry: RequestLog) -> str:
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "error" if entry.error_code else "ok"


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        entry = RequestLog(request_id_from(_header(scope, b"x-request-id")))
        scope.setdefault("state", {})["request_id"] = entry.request_id
        token = CURRENT_REQUEST.set(entry)
        started = perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", entry.request_id.encode()))
                message = {**message, "headers": headers}
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status != 101:
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = perf_counter() - started
            outcome = _outcome(status, entry)
            observe_request(_route(scope, entry), outcome, seconds)
            access: dict[str, Any] = {
                "method": scope.get("method", "WEBSOCKET"),
                "path": scope.get("path", ""),
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "outcome": outcome,
            }
            log.info("%s %s %s", access["method"], access["path"], status, extra=access)
            CURRENT_REQUEST.reset(token)


class NoteOperation(SchemaExtension):
    """Names the request's operation in its log lines and metrics."""

    def on_operation(self) -> Iterator[None]:
        note_request(operation=self.execution_context.operation_name)
        yield
        # Known now even when the request did not name it (a document with one operation).
        note_request(operation=self.execution_context.operation_name)

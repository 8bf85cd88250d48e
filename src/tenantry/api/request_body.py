"""A cap on request bodies, enforced while they arrive, before anything parses them.

A declared ``Content-Length`` over the cap is refused before a byte is read; a body
without one (chunked) is counted as it streams in and refused once it passes the cap, so
a process never holds more than the cap of one request's body in memory. The connection
stays open (the server discards the rest of the body), so a client that sends the whole
body before reading still gets the 413 instead of a reset connection.
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.api.errors import error_response


class BodyTooLarge(Exception):
    """Raised from ``receive`` inside the application; answered here with HTTP 413."""


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


class LimitRequestBody:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self.refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:  # too late for a status code: the server drops the connection
                raise
            await self.refuse(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            f"The request body is larger than the limit of {self.max_bytes} bytes.",
            "PAYLOAD_TOO_LARGE",
        )
        await response(scope, receive, send)

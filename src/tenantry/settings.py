"""Configuration from the environment: ``TENANTRY_*`` variables plus plain ``DATABASE_URL``."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, PositiveFloat, PositiveInt, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    # "json": one JSON object per line (request id, tenant, user, operation...); "text".
    log_format: Literal["json", "text"] = "json"
    # Serve Prometheus metrics at /metrics.
    metrics_enabled: bool = True

    root_name: str = "Platform"
    root_moniker: str = "platform"
    root_currency: str = "EUR"
    admin_email: str = "admin@tenantry.local"

    # Absolute base of links the API hands out (download URLs); by default the request's own.
    public_url: str | None = None
    report_link_ttl_seconds: int = 24 * 3600
    # How long a signed customer top-up link is good for: its {expires} is now plus this.
    top_up_link_ttl_seconds: PositiveInt = 24 * 3600
    # Run a job worker inside `tenantry serve` (more can run as `tenantry worker`).
    worker_in_server: bool = True
    # On SIGTERM, how long open requests and running jobs get to finish; jobs still running
    # then are stopped and queued again (another worker, or this one after restart, redoes them).
    shutdown_timeout_seconds: PositiveFloat = 30.0
    # Workers prove they are alive this often; a job whose worker has been silent for
    # `job_stalled_after_seconds` is handed to another worker.
    job_heartbeat_seconds: PositiveFloat = 10.0
    job_stalled_after_seconds: PositiveFloat = 30.0
    # Finished reports (and their CSV) are deleted this many days after they completed.
    report_retention_days: PositiveInt = 30

    default_page_size: int = 20
    max_page_size: int = 100
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 10_000
    # A 10,000-record usage batch is about 1.3 MB of JSON: 4 MiB leaves three times that.
    max_body_bytes: int = 4 * 1024 * 1024
    max_operations: int = 20
    max_fragments: int = 200
    max_input_list_length: int = 10_000
    # Rows an operation may touch, counted before it runs (see api/cost.py).
    max_query_cost: int = 200_000
    # Operations costing at least this many rows run at most `costly_query_concurrency` at a
    # time per process; one that waits longer than `costly_query_wait_seconds` gets a 503.
    costly_query_cost: int = 10_000
    costly_query_concurrency: int = 1
    costly_query_wait_seconds: float = 10.0
    # Milliseconds any one SQL statement of an API request may run (0: no limit).
    statement_timeout_ms: int = 5_000
    # The same for background jobs (report builds, invoice runs); 0: no limit.
    job_statement_timeout_ms: int = 0
    # Seconds a request waits for a pooled database connection before a 503.
    db_pool_timeout_seconds: float = 5.0
    # Origins of browser apps that may call the API (CORS) and open its WebSocket, e.g.
    # "https://app.example.com,https://admin.example.com"; "*" for any. Empty: none.
    cors_origins: Annotated[list[str], NoDecode] = []
    # Requests a minute per API token (a burst of that many, then that many a minute), shared
    # by every process; 0: no limit. Anonymous callers are limited per client address (behind
    # a proxy, run uvicorn with --forwarded-allow-ips so that is the caller's, not the proxy's).
    rate_limit_per_minute: int = 1200
    rate_limit_anonymous_per_minute: int = 300
    # Run only documents registered with `tenantry persisted-queries register` (sent in full
    # or by hash); Automatic Persisted Queries then stores nothing new.
    persisted_queries_only: bool = False
    # Answer read operations that compile with one SQL statement (DESIGN.md, "The read path").
    compiled_reads: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

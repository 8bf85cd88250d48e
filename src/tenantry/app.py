"""The Starlette application: /graphql (HTTP and WebSocket), health checks, GraphiQL assets."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import procrastinate
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from tenantry import tracing
from tenantry.api.downloads import download_usage_report
from tenantry.api.errors import (
    RETRY_AFTER_SECONDS,
    SERVICE_UNAVAILABLE,
    database_failure,
    unavailable_body,
)
from tenantry.api.observe import ObserveRequests
from tenantry.api.request_body import LimitRequestBody
from tenantry.api.schema import build_schema
from tenantry.api.types.report import DOWNLOAD_PATH
from tenantry.api.view import ASSETS_PATH, GraphQLView, graphiql_assets_dir
from tenantry.db.engine import Database
from tenantry.jobs import connect_jobs_database, create_job_app, supervise_worker
from tenantry.logs import configure_logging
from tenantry.metrics import metrics_endpoint
from tenantry.settings import Settings, get_settings


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        async with db.read() as session:
            await session.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "error": type(exc).__name__},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JSONResponse({"status": "ready"})


async def database_unavailable(_: Request, exc: Exception) -> Response:
    """A database out of reach, or a pool with no connection free, outside GraphQL execution
    (authentication, downloads): a JSON GraphQL error, 503 and Retry-After."""
    if database_failure(exc) != SERVICE_UNAVAILABLE:
        raise exc
    return JSONResponse(
        unavailable_body(), status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


DATABASE_ERRORS = (sa.exc.SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def connect_api_database(url: str, settings: Settings) -> Database:
    """The API's pool: a bounded wait for a connection and a timeout on every statement."""
    return Database.connect(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        statement_timeout_ms=settings.statement_timeout_ms,
    )


def cors_middleware(settings: Settings) -> Middleware:
    """Browser apps on ``cors_origins`` may call the API with a bearer token (no cookies:
    credentials stay off). A preflight from any other origin is refused with 400."""
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-Id"],
        expose_headers=["Retry-After", "X-Request-Id"],
        max_age=600,
    )


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    db: Database | None = None,
    jobs: procrastinate.App | None = None,
) -> Starlette:
    """Serve ``database_url`` (engine, job queue and, by default, a worker made at start-up),
    or an existing ``db`` and ``jobs`` (tests)."""
    if (database_url is None) == (db is None):
        raise ValueError("Give exactly one of database_url or db.")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if db is not None:
            app.state.db, app.state.jobs = db, jobs
            yield
            return
        assert database_url is not None
        app.state.db = connect_api_database(database_url, settings)
        jobs_db = connect_jobs_database(database_url, settings)
        app.state.jobs = create_job_app(database_url)
        async with app.state.jobs.open_async():
            worker = (
                asyncio.create_task(
                    supervise_worker(
                        app.state.jobs, jobs_db, settings, name=f"server-{os.getpid()}"
                    )
                )
                if settings.worker_in_server
                else None
            )
            try:
                yield
            finally:
                if worker is not None:
                    # The worker waits up to shutdown_timeout_seconds for its jobs, then
                    # stops them and queues them again.
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
                await app.state.db.dispose()
                await jobs_db.dispose()
                tracing.flush()

    graphql = GraphQLView(build_schema(settings), settings)
    metrics = [Route("/metrics", metrics_endpoint)] if settings.metrics_enabled else []
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *metrics,
            Route(DOWNLOAD_PATH.replace("{id}", "{report_id}"), download_usage_report),
            Mount(
                ASSETS_PATH, StaticFiles(directory=graphiql_assets_dir()), name="graphiql-assets"
            ),
        ],
        middleware=[
            Middleware(ObserveRequests),
            cors_middleware(settings),
            Middleware(LimitRequestBody, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
        exception_handlers=dict.fromkeys(DATABASE_ERRORS, database_unavailable),
    )
    if db is not None:
        app.state.db, app.state.jobs = db, jobs
    if tracing.tracing_enabled():
        tracing.instrument(app)
    return app


def create_app_from_environment() -> Starlette:
    """The app of one of `tenantry serve --workers N`'s processes (uvicorn's factory).

    The parent has migrated, bootstrapped and, with no DATABASE_URL, started the embedded
    PostgreSQL, whose URL it passes down as DATABASE_URL: a worker never starts a server.
    Each worker runs its own job worker too (when `worker_in_server`): they share the queue
    through PostgreSQL, as `tenantry worker` processes do.
    """
    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is unset: start workers with `tenantry serve`.")
    configure_logging(settings)
    return create_app(settings, database_url=settings.database_url)

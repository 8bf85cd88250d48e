"""The ``tenantry`` command: serve, worker, migrate, bootstrap, demo, export-schema and
persisted-queries."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from tenantry.auth.service import Bootstrap
from tenantry.settings import Settings, get_settings

if TYPE_CHECKING:
    from datetime import datetime

    import asyncpg

T = TypeVar("T")

app = typer.Typer(
    help="Tenantry: hierarchical multi-tenant management and billing.", no_args_is_help=True
)


def _setup(settings: Settings) -> str:
    from tenantry.db.migrate import upgrade_to_head
    from tenantry.db.url import NoDatabase, resolve_database_url
    from tenantry.logs import configure_logging

    configure_logging(settings)
    try:
        url = resolve_database_url(settings)
    except NoDatabase as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    upgrade_to_head(url)
    return url


async def _bootstrap(url: str, settings: Settings, *, mint: bool = True) -> "Bootstrap":
    from tenantry.auth.service import bootstrap_platform
    from tenantry.db.engine import Database

    db = Database.connect(url, pool_size=1, max_overflow=0)
    try:
        async with db.write() as session:
            result = await bootstrap_platform(
                session,
                name=settings.root_name,
                moniker=settings.root_moniker,
                currency=settings.root_currency,
                admin_email=settings.admin_email,
                mint=mint,
            )
    finally:
        await db.dispose()
    return result


def _token_help(token: str, settings: Settings) -> str:
    return (
        f"Platform-admin token (shown once; `tenantry bootstrap` mints another):\n\n"
        f"  {token}\n\n"
        f"GraphiQL: http://{settings.host}:{settings.port}/graphql -> open 'Headers' and paste\n"
        f'  {{"Authorization": "Bearer {token}"}}\n'
    )


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default TENANTRY_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default TENANTRY_PORT, 8000).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port, each with its own database pool and "
            "(with TENANTRY_WORKER_IN_SERVER) job worker.",
        ),
    ] = 1,
) -> None:
    """Migrate, bootstrap on first start, and serve GraphQL (GraphiQL at /graphql)."""
    import uvicorn

    from tenantry.app import create_app
    from tenantry.metrics import fresh_metrics_dir

    settings = get_settings()
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    url = _setup(settings)
    first_start = asyncio.run(_bootstrap(url, settings, mint=False))
    if first_start.token:
        typer.echo(_token_help(first_start.token, settings))
    else:
        typer.echo(
            "Platform already set up. `tenantry bootstrap` prints a new platform-admin token."
        )
    # uvicorn re-raises SIGTERM after its graceful shutdown, and the default action skips
    # atexit, where the embedded PostgreSQL is stopped: exit normally instead.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    if workers > 1:
        # Each worker process builds its app from the environment: the database this
        # process migrated (the embedded one included, which stays with this process).
        os.environ["DATABASE_URL"] = url
        # /metrics adds up what every worker counted (prometheus-client's multiprocess
        # mode): they write to one directory, chosen before they start.
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(fresh_metrics_dir(settings)))
    uvicorn.run(
        create_app(settings, database_url=url)
        if workers == 1
        else "tenantry.app:create_app_from_environment",
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Our logging (configure_logging) stays: one stream, JSON lines, our access log.
        log_config=None,
        access_log=False,
        # Open connections (a followed report, a slow download) get as long as jobs do.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_seconds)),
        # A websocket message is a request too: the same cap as HTTP bodies.
        ws_max_size=settings.max_body_bytes,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs this worker runs at once.")] = 2,
) -> None:
    """Run a background job worker (reports, invoices, endpoint fees); start as many as you like."""
    from tenantry.jobs import connect_jobs_database, create_job_app, supervise_worker

    settings = get_settings()
    url = _setup(settings)

    async def work() -> None:
        db = connect_jobs_database(url, settings, concurrency)
        jobs = create_job_app(url)
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        # SIGTERM or Ctrl-C: stop taking jobs, give running ones shutdown_timeout_seconds.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        try:
            async with jobs.open_async():
                await supervise_worker(
                    jobs, db, settings, name=f"worker-{os.getpid()}", concurrency=concurrency
                )
        finally:
            await db.dispose()

    typer.echo("Worker running; Ctrl-C stops it.")
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(work())


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest version."""
    _setup(get_settings())
    typer.echo("Database is at the latest schema version.")


@app.command()
def bootstrap() -> None:
    """Create the root tenant and a platform admin if missing; print a new token (last line)."""
    settings = get_settings()
    result = asyncio.run(_bootstrap(_setup(settings), settings))
    typer.echo(
        "Created the platform tenant and its admin."
        if result.created
        else "Platform already set up."
    )
    typer.echo(result.token)


@app.command()
def demo() -> None:
    """Fill a small, believable tenant tree so GraphiQL has something to show."""
    from tenantry.demo import load_demo

    settings = get_settings()
    url = _setup(settings)
    asyncio.run(_bootstrap(url, settings))
    typer.echo(asyncio.run(load_demo(url)))


def _month(value: str) -> "datetime":
    from datetime import UTC, datetime

    try:
        if len(value) != 7:
            raise ValueError(value)
        return datetime.strptime(value, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a month: give it as YYYY-MM.") from None


@app.command("detach-usage-partitions")
def detach_usage_partitions(
    before: Annotated[
        str, typer.Option(help="Detach the usage partitions of the months before this (YYYY-MM).")
    ],
    drop: Annotated[bool, typer.Option(help="Drop them once detached.")] = False,
) -> None:
    """Detach usage_records' monthly partitions older than a month, and optionally drop them."""
    from tenantry.db.engine import Database
    from tenantry.db.url import NoDatabase, resolve_database_url
    from tenantry.usage.partitions import detach_before

    month = _month(before)
    try:
        url = resolve_database_url(get_settings())
    except NoDatabase as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None

    async def detach() -> list[str]:
        db = Database.connect(url, pool_size=1)
        try:
            return await detach_before(db, month, drop=drop)
        finally:
            await db.dispose()

    names = asyncio.run(detach())
    done = "Detached and dropped" if drop else "Detached"
    typer.echo(f"{done} {len(names)} partition(s): {', '.join(names) or 'none'}.")


@app.command("export-schema")
def export_schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
) -> None:
    """Print the GraphQL schema (SDL), or write it to a file."""
    from tenantry.api.schema import build_schema

    sdl = build_schema(get_settings()).as_str() + "\n"
    if output is None:
        typer.echo(sdl, nl=False)
    else:
        output.write_text(sdl)


persisted_queries = typer.Typer(
    help="The allow-list of operations (TENANTRY_PERSISTED_QUERIES_ONLY runs only these).",
    no_args_is_help=True,
)
app.add_typer(persisted_queries, name="persisted-queries")


async def _on_database(url: str, work: "Callable[[asyncpg.Connection], Awaitable[T]]") -> T:
    from tenantry.db.engine import Database

    db = Database.connect(url, pool_size=1, max_overflow=0)
    try:
        async with db.bare() as connection:
            return await work(connection)
    finally:
        await db.dispose()


@persisted_queries.command("register")
def register_persisted_queries(
    files: Annotated[
        list[Path],
        typer.Argument(
            help=".graphql files (one document each, as clients send it) or "
            "Apollo persisted query manifests (.json)."
        ),
    ],
) -> None:
    """Allow-list documents (checked against the schema first); prints each one's SHA-256."""
    from tenantry.api.schema import build_schema
    from tenantry.persisted_queries import service

    settings = get_settings()
    url = _setup(settings)
    try:
        documents = [d for f in files for d in service.documents_in(f.name, f.read_text())]
        schema = build_schema(settings)._schema
        hashes = asyncio.run(_on_database(url, lambda c: service.register(c, schema, documents)))
    except service.PersistedQueryError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    for sha in hashes:
        typer.echo(sha)


@persisted_queries.command("remove")
def remove_persisted_query(
    sha256: Annotated[str, typer.Argument(help="The document's SHA-256, as `register` printed.")],
) -> None:
    """Take a document off the allow-list."""
    from tenantry.persisted_queries import service

    removed = asyncio.run(
        _on_database(_setup(get_settings()), lambda c: service.unregister(c, sha256))
    )
    if not removed:
        typer.echo(f"{sha256} is not on the allow-list.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Removed {sha256}.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

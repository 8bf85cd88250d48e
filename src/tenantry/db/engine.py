"""The async engine and session factory the application and jobs share."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tenantry.metrics import observed_pool


def asyncpg_url(url: str) -> str:
    """Accept any ``postgres://``/``postgresql://`` URL and pin the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    pool_timeout: float = 30.0,
    statement_timeout_ms: int = 0,
    pre_ping: bool = True,
    name: str = "api",
) -> AsyncEngine:
    """``pool_timeout`` bounds the wait for a pooled connection and for a new one to open;
    ``statement_timeout_ms`` (0: the server's default) bounds every statement run on it;
    ``name`` labels the pool in the metrics."""
    # JIT costs tens of milliseconds on nested JSON-ish queries and never pays back here.
    server_settings = {"jit": "off", "application_name": "tenantry"}
    if statement_timeout_ms > 0:
        # Sent with the connection's start-up packet: no round trip per request.
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=pre_ping,
        poolclass=observed_pool(name),
        connect_args={"server_settings": server_settings, "timeout": pool_timeout},
    )


@dataclass(frozen=True)
class Database:
    """Owns the engines; hands out sessions. The caller of ``write()`` owns the transaction.

    ``reads`` serves authentication and the compiled read path: single statements, outside any
    transaction, so its pool does not ping (a ping is BEGIN, ``;``, ROLLBACK: three round
    trips). A dead connection fails that one read, which the resolver path then answers.
    """

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: AsyncEngine | None = None

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 20,
        pool_timeout: float = 30.0,
        statement_timeout_ms: int = 0,
        name: str = "api",
    ) -> "Database":
        def engine_for(pre_ping: bool, size: int, overflow: int) -> AsyncEngine:
            return create_engine(
                url,
                pool_size=size,
                max_overflow=overflow,
                pool_timeout=pool_timeout,
                statement_timeout_ms=statement_timeout_ms,
                pre_ping=pre_ping,
                name=name if pre_ping else f"{name}_reads",
            )

        engine = engine_for(True, pool_size, max_overflow)
        # The compiled read path's pool (no pre-ping: one round trip per read; a dropped
        # connection makes that read fall back). It keeps every connection it opens, up to
        # the same total: an overflow connection is closed when it is returned, and under
        # 32 concurrent reads opening and closing them (and preparing every statement again
        # on each) took most of the process's time. An engine opens no connection until used.
        reads = engine_for(False, pool_size + max_overflow, 0)
        return cls(
            engine, async_sessionmaker(engine, expire_on_commit=False, autoflush=False), reads
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short session for one batch of reads. Never share it between tasks."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def bare(self, *, pinged: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A driver connection from the reads pool, outside any transaction: a statement on
        it is one round trip (no BEGIN, no ROLLBACK, no ping). For single-statement reads."""
        # ``pinged``: from the main pool, checked first (a job's long statement after a
        # database restart must not meet a dead connection).
        engine = self.engine if pinged else (self.reads or self.engine)
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            try:
                yield driver
            except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                raw.invalidate()  # unpinged: a connection the server has dropped goes now
                raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.reads is not None:
            await self.reads.dispose()

"""The async engine and session factory the application and jobs share."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def asyncpg_url(url: str) -> str:
    """Accept any ``postgres://``/``postgresql://`` URL and pin the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 20, pre_ping: bool = True
) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        connect_args={
            # JIT costs tens of milliseconds on nested JSON-ish queries and never pays back here.
            "server_settings": {"jit": "off", "application_name": "tenantry"},
        },
    )


@dataclass(frozen=True)
class Database:
    """Owns the engines; hands out sessions. The caller of ``write()`` owns the transaction.

    ``reads`` serves the compiled read path: one statement per request, outside any
    transaction, so its pool does not ping (a ping is BEGIN, ``;``, ROLLBACK: three round
    trips). A dead connection fails that one read, which the resolver path then answers.
    """

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: AsyncEngine | None = None

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> "Database":
        engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        reads = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pre_ping=False)
        return cls(
            engine, async_sessionmaker(engine, expire_on_commit=False, autoflush=False), reads
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short session for one batch of reads. Never share it between tasks."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.reads is not None:
            await self.reads.dispose()

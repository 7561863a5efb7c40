"""Async database access: one engine per process, one PostgreSQL schema per service.

Each service's connections run with `search_path` set to its own schema, so its models
and the shared messaging tables (outbox, processed events) need no schema qualifier.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def driver_dsn(url: str) -> str:
    """The same database as a plain asyncpg DSN (for a driver-level pool on a hot path)."""
    return asyncpg_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


# How long a new connection may take: the driver's own default (60 s) held every call that
# needed one for a minute while a database host dropped packets silently (a stopped server
# refuses at once), long past the gateway's patience; after this it is a 503 to retry.
CONNECT_TIMEOUT_SECONDS = 5.0


def create_engine(url: str, schema: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine whose connections see `schema` first (and `public` for extensions)."""
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": f"{schema},public"},
                      "timeout": CONNECT_TIMEOUT_SECONDS},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (handlers return them)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that commits on success and rolls back on error."""
    async with sessions() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> dict[str, str]:
    """Health check: the database answers a query."""
    async with engine.connect() as connection:
        version = await connection.scalar(text("show server_version"))
    return {"version": str(version)}

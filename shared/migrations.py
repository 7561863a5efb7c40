"""Alembic, per service: each service has its own migrations folder, version table and schema.

`upgrade_to_head` runs at service start (and from the CLI) under an advisory lock, so
several replicas starting at once migrate the live database exactly once.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine


async def upgrade_to_head(engine: AsyncEngine, schema: str, migrations_dir: Path) -> None:
    """Create the service's schema if needed and apply its migrations up to head."""
    lock_id = zlib.crc32(f"govshare-migrate-{schema}".encode())
    async with engine.connect() as connection:
        await connection.execute(text("select pg_advisory_lock(:id)"), {"id": lock_id})
        try:
            await connection.execute(text(f'create schema if not exists "{schema}"'))
            await connection.commit()
            await connection.run_sync(_upgrade, schema, migrations_dir)
            await connection.commit()
        finally:
            await connection.execute(text("select pg_advisory_unlock(:id)"), {"id": lock_id})
            await connection.commit()


def _upgrade(connection: Connection, schema: str, migrations_dir: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def run_migrations(*metadata: MetaData) -> None:
    """Body of every service's `env.py`: migrate the connection the runner handed over."""
    connection: Connection = context.config.attributes["connection"]
    schema: str = context.config.attributes["schema"]
    context.configure(
        connection=connection,
        target_metadata=list(metadata),
        version_table_schema=schema,
        include_schemas=False,
    )
    with context.begin_transaction():
        context.run_migrations()

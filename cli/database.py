"""How a CLI command reaches the node's database: the configured one or the embedded one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from cli.embedded import EmbeddedPostgres
from cli.settings import CliSettings
from services.authorization.app import MIGRATIONS, SERVICE
from services.authorization.node_keys import local_node
from shared import sealing
from shared.db import create_engine, create_session_factory, transaction
from shared.migrations import upgrade_to_head
from shared.outbox import Outbox


def embedded_postgres(settings: CliSettings) -> EmbeddedPostgres:
    return EmbeddedPostgres(Path(settings.home).resolve() / "postgres")


@asynccontextmanager
async def identity_session(
    settings: CliSettings, database_url: str
) -> AsyncIterator[tuple[AsyncSession, Outbox]]:
    """A transaction in the authorization schema (migrated first) and its outbox."""
    sealing.install_from(settings.node_kek())
    engine = create_engine(database_url, schema=SERVICE, pool_size=1)
    try:
        await upgrade_to_head(engine, SERVICE, MIGRATIONS)
        async with transaction(create_session_factory(engine)) as session:
            node = await local_node(session)
            yield session, Outbox(node=node.id if node else settings.node_id, service=SERVICE)
    finally:
        await engine.dispose()

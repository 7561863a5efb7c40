"""Dependency aliases every service's routers use: a transactional session, the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import transaction
from shared.outbox import Outbox
from shared.settings import ServiceSettings


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with transaction(request.app.state.runtime.sessions) as session:
        yield session


def _outbox(request: Request) -> Outbox:
    return request.app.state.runtime.outbox


def runtime_settings(request: Request) -> ServiceSettings:
    """The service's settings; each service aliases it with its own settings type."""
    return request.app.state.runtime.settings


# scope="function": commit before the response is sent, so a 2xx always means "stored".
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
"""A session in a transaction that commits when the endpoint returns without error."""

OutboxDep = Annotated[Outbox, Depends(_outbox)]
"""The service's outbox writer; events it adds commit with the session."""

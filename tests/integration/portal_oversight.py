"""Oversight staff for the portal's tests: an auditor is made at the node's machine, as
only a security administrator (or the machine's operator) may make one."""

from __future__ import annotations

import httpx

from cli.database import identity_session
from services.authorization import directory
from services.authorization.schemas import UserCreate
from shared.contracts import Role
from tests import factories
from tests.conftest import Infrastructure
from tests.integration.conftest import cli_settings
from tests.integration.portal_browser import PASSWORD


async def auditor_user(infrastructure: Infrastructure, name: str = "孙丽") -> str:
    """A new staff auditor (the portal's test password); their user name. The node must be
    initialised first (the `admin_token` fixture does it)."""
    username = factories.username()
    settings = cli_settings(infrastructure)
    async with identity_session(settings, infrastructure.database_url) as (session, outbox):
        await directory.add_user(session, outbox, UserCreate(
            username=username, display_name=name, roles=[Role.auditor], password=PASSWORD))
    return username


async def auditor_token(infrastructure: Infrastructure, gateway: httpx.AsyncClient) -> str:
    """A new staff auditor's token, for the API (the security trail, every audit)."""
    username = await auditor_user(infrastructure)
    response = await gateway.post("/auth/login",
                                  json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])

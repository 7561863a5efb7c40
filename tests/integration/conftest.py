"""Fixtures for calling the node as its users do: an admin, departments, system clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from cli.database import identity_session
from cli.settings import CliSettings
from services.authorization import directory
from services.authorization.node_keys import init_node, local_node
from services.authorization.schemas import NodeInit, UserCreate
from shared.contracts import Role, Tier, Zone
from shared.events import EventEnvelope, topic_for
from tests import factories
from tests.conftest import Infrastructure, RunningNode

ADMIN_PASSWORD = "a long enough test password"


def cli_settings(infrastructure: Infrastructure) -> CliSettings:
    return CliSettings(DATABASE_URL=infrastructure.database_url)


@pytest.fixture(scope="session")
async def admin_token(infrastructure: Infrastructure, node: RunningNode) -> str:
    """A node admin's token, obtained by password login through the gateway."""
    username = factories.username()
    settings = cli_settings(infrastructure)
    async with identity_session(settings, infrastructure.database_url) as (session, outbox):
        if await local_node(session) is None:
            await init_node(session, outbox, NodeInit(
                name="南京市政务数据共享交换平台", tier=Tier.municipal, region_code="320100",
                zone=Zone.external))
        await directory.add_user(session, outbox, UserCreate(
            username=username, display_name="王芳", roles=[Role.node_admin],
            password=ADMIN_PASSWORD))
    async with httpx.AsyncClient(base_url=node.gateway_url) as client:
        response = await client.post("/auth/login",
                                     json={"username": username, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def department(gateway: httpx.AsyncClient, admin_token: str) -> dict[str, str]:
    """A freshly registered department."""
    body = factories.department()
    response = await gateway.post("/api/authorization/departments", json=body,
                                  headers=bearer(admin_token))
    assert response.status_code == 201, response.text
    return response.json()


SystemClientFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_client(gateway: httpx.AsyncClient, admin_token: str,
                department: dict[str, str]) -> SystemClientFactory:
    """Creates client credentials for the department's system, with the given roles."""

    async def make(*roles: str) -> dict[str, str]:
        response = await gateway.post("/api/authorization/clients", headers=bearer(admin_token),
                                      json={"name": "人口基础信息库", "roles": list(roles),
                                            "department": department["credit_code"]})
        assert response.status_code == 201, response.text
        return response.json()

    return make


async def client_token(gateway: httpx.AsyncClient, client: dict[str, str]) -> httpx.Response:
    return await gateway.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]})


async def find_event(bootstrap: str, event_type: str, key: str) -> EventEnvelope:
    reader = AIOKafkaConsumer(topic_for(event_type), bootstrap_servers=bootstrap,
                              auto_offset_reset="earliest", group_id=None)
    await reader.start()
    try:
        async with asyncio.timeout(30):
            while True:
                batch = await reader.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        envelope = EventEnvelope.model_validate_json(record.value)
                        if envelope.type == event_type and envelope.key == key:
                            return envelope
    finally:
        await reader.stop()


ENTRIES = "/api/catalog/entries"
Editor = Callable[[], Awaitable[dict[str, str]]]


async def register_department(gateway: httpx.AsyncClient, admin_token: str,
                              *roles: str, tier: str = "municipal",
                              region: str = "320100") -> dict[str, str]:
    """A new department whose system holds `roles` (catalog_editor among them), known to the
    catalog; its token is under "token"."""
    department = factories.department(region=region, tier=tier)
    registered = await gateway.post("/api/authorization/departments", json=department,
                                    headers=bearer(admin_token))
    assert registered.status_code == 201
    client = (await gateway.post("/api/authorization/clients", headers=bearer(admin_token),
                                 json={"name": "目录编制系统", "roles": list(roles),
                                       "department": department["credit_code"]})).json()
    token = (await client_token(gateway, client)).json()["access_token"]
    await _wait_until_catalog_knows(gateway, token)
    return {**department, "token": token}


@pytest.fixture
def new_editor(gateway: httpx.AsyncClient, admin_token: str) -> Editor:
    """Registers a department and returns a catalog editor system's token for it."""

    async def make() -> dict[str, str]:
        return await register_department(gateway, admin_token, "catalog_editor")

    return make


async def _wait_until_catalog_knows(gateway: httpx.AsyncClient, token: str) -> None:
    """The catalog learns departments from identity events: wait for this one to arrive."""
    probe = factories.population_entry()
    async with asyncio.timeout(30):
        while True:
            response = await gateway.post(ENTRIES, json=probe, headers=bearer(token))
            if response.status_code == 201:
                return
            assert response.json()["type"].endswith("/unknown-provider"), response.text
            await asyncio.sleep(0.2)


@pytest.fixture
async def editor(new_editor: Editor) -> dict[str, str]:
    return await new_editor()


async def create(gateway: httpx.AsyncClient, editor: dict[str, str],
                 body: dict[str, object]) -> httpx.Response:
    return await gateway.post(ENTRIES, json=body, headers=bearer(editor["token"]))

"""Fixtures for calling the node as its users do: an admin, departments, system clients."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.database import identity_session
from cli.settings import CliSettings
from services.authorization import directory
from services.authorization.node_keys import init_node, local_node
from services.authorization.schemas import NodeInit, UserCreate
from shared.contracts import Role, Tier, Zone
from shared.db import create_engine
from shared.events import EventEnvelope, topic_for
from shared.workdays import china_date
from tests import factories
from tests.conftest import Infrastructure, RunningNode
from tests.integration.portal_browser import chromium, page  # noqa: F401 (one browser a session)

ADMIN_PASSWORD = "a long enough test password"


def cli_settings(infrastructure: Infrastructure) -> CliSettings:
    return CliSettings(DATABASE_URL=infrastructure.database_url)


@pytest.fixture(scope="session")
async def admin_token(infrastructure: Infrastructure, node: RunningNode) -> str:
    """A node admin's token, obtained by password login through the gateway."""
    return await new_admin(infrastructure, node)


async def new_admin(infrastructure: Infrastructure, node: RunningNode,
                    role: Role = Role.node_admin) -> str:
    """Initialise the node if needed, add an administrator holding `role` as the node's
    machine makes the first ones (a security administrator too), and log in as them."""
    username = factories.username()
    settings = cli_settings(infrastructure)
    async with identity_session(settings, infrastructure.database_url) as (session, outbox):
        if await local_node(session) is None:
            await init_node(session, outbox, NodeInit(
                name="南京市政务数据共享交换平台", tier=Tier.municipal, region_code="320100",
                zone=Zone.external))
        await directory.add_user(session, outbox, UserCreate(
            username=username, display_name="王芳", roles=[role],
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


async def find_event(bootstrap: str, event_type: str, key: str,
                     matches: Callable[[EventEnvelope], bool] = lambda envelope: True
                     ) -> EventEnvelope:
    """The first event of `event_type` about `key` (that `matches`) on the broker."""
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
                        if (envelope.type == event_type and envelope.key == key
                                and matches(envelope)):
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


# --- time: the node's clock -------------------------------------------------------------------


class NodeClock:
    """Moves the running node's business time: every service reads the offset in its clock
    file on its next "now", so no restart is needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = timedelta(0)

    async def advance(self, *, days: float = 0, hours: float = 0) -> None:
        """Move the node's time on (negative: back) by this much more."""
        self.set(self.offset + timedelta(days=days, hours=hours))

    def set(self, offset: timedelta) -> None:
        self.offset = offset
        # Replaced whole, so a service never reads a half-written offset.
        written = self.path.with_suffix(".tmp")
        written.write_text(str(offset.total_seconds()))
        os.replace(written, self.path)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        """The node's day in China, the one due dates and grant periods are counted in."""
        return china_date(self.now())


@pytest.fixture
def clock(node: RunningNode) -> Iterator[NodeClock]:
    """The node's clock; back to real time after the test, so other tests are unaffected."""
    moved = NodeClock(node.clock_file)
    yield moved
    moved.set(timedelta(0))


# --- sharing: departments that publish, request and answer ---------------------------------

REQUESTS = "/api/authorization/requests"
GRANTS = "/api/authorization/grants"
DECISIONS = "/api/authorization/access-decisions"
Party = dict[str, str]


@pytest.fixture
async def authorization_db(infrastructure: Infrastructure) -> AsyncIterator[AsyncEngine]:
    """Direct access to the authorization schema, to let time pass (a due date, a period)."""
    engine = create_engine(infrastructure.database_url, schema="authorization")
    yield engine
    await engine.dispose()


@pytest.fixture
async def exchange_db(infrastructure: Infrastructure) -> AsyncIterator[AsyncEngine]:
    """Direct access to the exchange schema, as someone tampering with it would have."""
    engine = create_engine(infrastructure.database_url, schema="exchange")
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def demo_province(infrastructure: Infrastructure,
                  node: RunningNode) -> subprocess.CompletedProcess[str]:
    """The demo province (`govshare demo seed`: 40 departments, 502 entries) on the shared
    node, seeded once a session; what its run printed."""
    from tests.integration.test_cli import govshare  # a test module: imported when needed

    return govshare(infrastructure, "demo", "seed", "--gateway", node.gateway_url)


@pytest.fixture
async def provider(gateway: httpx.AsyncClient, admin_token: str) -> Party:
    return await new_party(gateway, admin_token)


@pytest.fixture
async def consumer(gateway: httpx.AsyncClient, admin_token: str) -> Party:
    return await new_party(gateway, admin_token)


async def new_party(gateway: httpx.AsyncClient, admin_token: str, **where: str) -> Party:
    """A department whose system catalogs, handles requests and moves data."""
    return await register_department(gateway, admin_token, "catalog_editor",
                                     "request_reviewer", "data_operator", **where)


def conditional_entry(**share: object) -> dict[str, object]:
    return factories.theme_entry({
        "type": "conditional", "conditions": "仅限办理社会保险相关业务时核验使用",
        "permitted_uses": ["data_verification", "administrative_basis"],
        "methods": ["online_query", "bulk_download"], **share})


async def publish(gateway: httpx.AsyncClient, party: Party, body: dict[str, object]) -> str:
    created = await gateway.post(ENTRIES, json=body, headers=bearer(party["token"]))
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    published = await gateway.post(f"{ENTRIES}/{code}/publish", headers=bearer(party["token"]))
    assert published.status_code == 200, published.text
    return code


def application(code: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "entry_code": code, "legal_basis": "《社会保险法》第五十八条：办理参保登记时核验身份",
        "purpose": "data_verification", "items": ["GMSFHM", "JFJS"],
        "methods": ["online_query"],
        "valid_until": (china_date(datetime.now(UTC)) + timedelta(days=365)).isoformat()}
    body.update(changes)
    return body


async def submit(gateway: httpx.AsyncClient, party: Party,
                 body: dict[str, object]) -> httpx.Response:
    """File a request, waiting for the entry's catalog event to reach the service first."""
    async with asyncio.timeout(30):
        while True:
            response = await gateway.post(REQUESTS, json=body, headers=bearer(party["token"]))
            if response.status_code != 422 or not response.json()["type"].endswith(
                    "/resource-unknown"):
                return response
            await asyncio.sleep(0.2)


async def answer(gateway: httpx.AsyncClient, party: Party, request_id: str,
                 **body: object) -> httpx.Response:
    return await gateway.post(f"{REQUESTS}/{request_id}/answer", json=body,
                              headers=bearer(party["token"]))


async def eventually(gateway: httpx.AsyncClient, party: Party, path: str,
                     field: str, expected: object) -> dict[str, object]:
    async with asyncio.timeout(30):
        while True:
            body = (await gateway.get(path, headers=bearer(party["token"]))).json()
            if body.get(field) == expected:
                return body
            await asyncio.sleep(0.2)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `last` run after all others: they change the shared node freely.

    Run in parallel (`make test` runs two workers with `--dist loadgroup`), every test of the
    shared node runs in one worker, which starts that node once; a module that starts nodes
    of its own (faults, supervision, federation, first steps) runs whole in one worker, so
    its module-scoped node is started once; unit tests go wherever a worker is free."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
    for item in items:
        if "node" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("shared-node"))
        elif item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))

"""The operator CLI: readable output, and a clear message and non-zero exit on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url, select

from cli.database import identity_session
from cli.demo import LEADS, credit_code_for
from cli.embedded import free_port, wait_for_port
from cli.settings import CliSettings
from services.authorization.node_keys import ensure_local_node
from shared.contracts import NodeInitialized
from shared.db import create_engine
from shared.events import EventEnvelope
from shared.messaging_tables import outbox_event
from shared.workdays import CHINA_TIME
from tests import factories
from tests.conftest import Infrastructure, RunningNode


def govshare(infrastructure: Infrastructure, *args: str,
             stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the CLI as a script would: no terminal, `stdin` piped in."""
    return govshare_on(infrastructure.database_url, *args, stdin=stdin)


def govshare_on(database_url: str, *args: str, stdin: str = "",
                home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, COLUMNS="200")
    if home is not None:
        env["GOVSHARE_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True,
                          text=True, timeout=180, input=stdin)


def test_department_add_prints_what_it_registered(infrastructure: Infrastructure) -> None:
    department = factories.department()
    result = govshare(infrastructure, "department", "add", "--name", department["name"],
                      "--credit-code", department["credit_code"], "--tier", "municipal",
                      "--region", "320100")
    assert result.returncode == 0, result.stderr
    assert department["name"] in result.stdout and department["credit_code"] in result.stdout


def test_department_add_refuses_a_malformed_credit_code(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "department", "add", "--name", "南京市民政局",
                      "--credit-code", "113201000141428939", "--tier", "municipal",
                      "--region", "320100")
    assert result.returncode == 2
    assert "credit_code" in result.stderr and "credit code" in result.stderr


def test_department_add_refuses_an_unknown_region(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "department", "add", "--name", "某局",
                      "--credit-code", factories.credit_code(), "--tier", "municipal",
                      "--region", "990100")
    assert result.returncode == 2
    assert "region_code" in result.stderr


def test_duplicate_department_exits_1_naming_the_clash(infrastructure: Infrastructure) -> None:
    department = factories.department()
    args = ["department", "add", "--name", department["name"], "--credit-code",
            department["credit_code"], "--tier", "municipal", "--region", "320100"]
    assert govshare(infrastructure, *args).returncode == 0
    again = govshare(infrastructure, *args)
    assert again.returncode == 1
    assert "already registered" in again.stderr


def test_client_create_shows_the_secret_once(infrastructure: Infrastructure) -> None:
    department = factories.department()
    govshare(infrastructure, "department", "add", "--name", department["name"],
             "--credit-code", department["credit_code"], "--tier", "municipal",
             "--region", "320100")
    result = govshare(infrastructure, "client", "create", "--department",
                      department["credit_code"], "--name", "社保系统", "--role", "data_operator")
    assert result.returncode == 0, result.stderr
    assert "client_id:" in result.stdout and "client_secret:" in result.stdout


def test_client_create_for_an_unknown_department_fails(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "client", "create", "--department",
                      factories.credit_code(), "--name", "社保系统")
    assert result.returncode == 1
    assert "No department" in result.stderr


def test_user_add_refuses_a_short_password(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "user", "add", "--username", factories.username(),
                      "--display-name", "刘洋", "--role", "auditor", "--password", "short")
    assert result.returncode == 2
    assert "password" in result.stderr


def test_user_add_reads_one_line_of_stdin_as_the_password(
    infrastructure: Infrastructure, node: RunningNode, admin_token: str
) -> None:
    username = factories.username()
    result = govshare(infrastructure, "user", "add", "--username", username, "--display-name",
                      "陈静", "--role", "auditor", "--password-stdin",
                      stdin=" typed, then piped 1 \nthe next line is not read\n")
    assert result.returncode == 0, result.stderr
    login = httpx.post(f"{node.gateway_url}/auth/login", json={
        "username": username, "password": " typed, then piped 1 "})
    assert login.status_code == 200, login.text


def test_user_add_without_a_terminal_says_how_to_pipe_the_password(
    infrastructure: Infrastructure
) -> None:
    result = govshare(infrastructure, "user", "add", "--username", factories.username(),
                      "--display-name", "陈静", "--role", "auditor")
    assert result.returncode == 2
    assert "--password-stdin" in result.stderr


def test_user_add_takes_one_password_source(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "user", "add", "--username", factories.username(),
                      "--display-name", "陈静", "--role", "auditor", "--password",
                      "a long enough password", "--password-stdin",
                      stdin="another long password\n")
    assert result.returncode == 2
    assert "not both" in result.stderr


@dataclass(frozen=True)
class FreshNode:
    """A node's own database (nothing initialised) and home folder."""

    database_url: str
    home: Path

    def govshare(self, *args: str) -> subprocess.CompletedProcess[str]:
        return govshare_on(self.database_url, *args, home=self.home)

    def init(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.govshare("node", "init", *args)

    async def start_as_govshare_up_does(self) -> None:
        async with identity_session(CliSettings(DATABASE_URL=self.database_url),
                                    self.database_url) as (session, outbox):
            await ensure_local_node(session, outbox)

    async def announcements(self) -> list[tuple[str, str]]:
        """(source node, announced node) of each node.initialized event in the outbox."""
        engine = create_engine(self.database_url, schema="authorization", pool_size=1)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(select(outbox_event.c.envelope).where(
                    outbox_event.c.type == NodeInitialized.event_type))
                envelopes = [EventEnvelope.model_validate_json(row[0]) for row in rows]
        finally:
            await engine.dispose()
        return [(envelope.source.node, envelope.key) for envelope in envelopes]


@pytest.fixture
async def fresh_node(infrastructure: Infrastructure, tmp_path: Path) -> FreshNode:
    url = make_url(infrastructure.database_url)
    name = f"node_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(host=url.query["host"], user=url.username,
                                       database="postgres")
    try:
        await connection.execute(f'create database "{name}"')
    finally:
        await connection.close()
    return FreshNode(url.set(database=name).render_as_string(hide_password=False), tmp_path)


NANJING = ("--name", "南京市政务数据共享交换平台", "--tier", "municipal", "--region", "320100",
           "--zone", "external")


async def test_node_init_replaces_the_placeholder_govshare_up_runs_as(
    fresh_node: FreshNode
) -> None:
    await fresh_node.start_as_govshare_up_does()
    assert "placeholder" in fresh_node.govshare("node", "show").stdout

    result = fresh_node.init(*NANJING)

    assert result.returncode == 0, result.stderr
    assert "replaces the placeholder 100000-external" in result.stdout
    shown = fresh_node.govshare("node", "show").stdout
    assert ("320100-external: 南京市政务数据共享交换平台 (municipal, region 320100, external)"
            in shown)
    # Only the real identity is announced, and by its own id.
    assert await fresh_node.announcements() == [("320100-external", "320100-external")]
    # A running `govshare up` on this home restarts its processes under the new id.
    assert (fresh_node.home / "identity-changed").exists()


async def test_node_init_again_with_the_same_values_changes_nothing(
    fresh_node: FreshNode
) -> None:
    assert fresh_node.init(*NANJING).returncode == 0
    again = fresh_node.init(*NANJING)
    assert again.returncode == 0, again.stderr
    assert "320100-external" in again.stdout


async def test_node_init_refuses_to_change_an_initialised_node_and_says_what_would_change(
    fresh_node: FreshNode
) -> None:
    assert fresh_node.init(*NANJING).returncode == 0
    renamed = ("--name", "南京市大数据管理局数据共享平台", "--tier", "provincial", "--region",
               "320100", "--zone", "external")

    refused = fresh_node.init(*renamed)

    assert refused.returncode == 1
    assert "320100-external is already initialised" in refused.stderr
    assert "南京市政务数据共享交换平台 → 南京市大数据管理局数据共享平台" in refused.stderr
    assert "municipal → provincial" in refused.stderr
    assert "--reinitialize" in refused.stderr
    assert "(municipal," in fresh_node.govshare("node", "show").stdout

    applied = fresh_node.init(*renamed, "--reinitialize")
    assert applied.returncode == 0, applied.stderr
    assert ("320100-external: 南京市大数据管理局数据共享平台 (provincial"
            in fresh_node.govshare("node", "show").stdout)


async def test_node_init_never_changes_the_id_of_an_initialised_node(
    fresh_node: FreshNode
) -> None:
    assert fresh_node.init(*NANJING).returncode == 0

    refused = fresh_node.init("--name", "苏州市政务数据共享交换平台", "--tier", "municipal",
                              "--region", "320500", "--zone", "external", "--reinitialize")

    assert refused.returncode == 1
    assert "320100-external → 320500-external" in refused.stderr
    assert "announced" in refused.stderr and "start a new node" in refused.stderr
    assert "320100-external:" in fresh_node.govshare("node", "show").stdout


async def test_node_init_keeps_the_placeholder_id_once_departments_use_it(
    fresh_node: FreshNode
) -> None:
    await fresh_node.start_as_govshare_up_does()
    department = factories.department()
    assert fresh_node.govshare("department", "add", "--name", department["name"],
                               "--credit-code", department["credit_code"], "--tier",
                               "municipal", "--region", "320100").returncode == 0

    refused = fresh_node.init(*NANJING, "--reinitialize")

    assert refused.returncode == 1
    assert "100000-external is in use" in refused.stderr
    assert "100000-external → 320100-external" in refused.stderr
    assert "it already has 1 department" in refused.stderr
    assert not (fresh_node.home / "identity-changed").exists()


def test_node_init_refuses_an_unknown_tier(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "node", "init", "--name", "x", "--tier", "galactic",
                      "--region", "320100", "--zone", "external")
    assert result.returncode == 2
    assert "tier" in result.stderr


def test_demo_seed_loads_a_searchable_province_and_is_idempotent(
    infrastructure: Infrastructure, node: RunningNode, admin_token: str,
    demo_province: subprocess.CompletedProcess[str],
) -> None:
    first = demo_province  # seeded once a session: the everyday-search tests search it too
    assert first.returncode == 0, first.stderr
    assert "40 new departments, 502 entries" in first.stdout
    assert "200 residents loaded" in first.stdout and "4 sharing requests" in first.stdout
    assert "20 online queries" in first.stdout and "2 information systems filed" in first.stdout
    again = govshare(infrastructure, "demo", "seed", "--gateway", node.gateway_url)
    assert "0 entries catalogued and published (502 already there)" in again.stdout
    outcomes = {}
    for consumer in ("江苏省人力资源和社会保障厅", "江苏省民政厅", "江苏省医疗保障局",
                     "江苏省住房公积金管理中心"):
        listed = httpx.get(f"{node.gateway_url}/api/authorization/requests", params={
            "consumer": credit_code_for(consumer)}, headers={
            "Authorization": f"Bearer {admin_token}"}).json()
        outcomes[consumer] = [r["status"] for r in listed["items"]]
    assert outcomes == {"江苏省人力资源和社会保障厅": ["approved"], "江苏省民政厅": ["submitted"],
                        "江苏省医疗保障局": ["approved"], "江苏省住房公积金管理中心": ["rejected"]}
    assert _zombie_systems(node, admin_token) == ["住房公积金旧版业务系统"]
    _assert_base_resources_led_and_kept(node, admin_token)


def _assert_base_resources_led_and_kept(node: RunningNode, admin_token: str) -> None:
    """Each base resource has its lead department, and no demo entry breaks the base items
    a fresh node registers (C3)."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    subjects = httpx.get(f"{node.gateway_url}/api/catalog/base-subjects", headers=auth).json()
    assert {s["subject"]: s["lead_department"] for s in subjects} == {
        subject: credit_code_for(department) for subject, department in LEADS.items()}
    for department in LEADS.values():
        breaking = httpx.get(f"{node.gateway_url}/api/catalog/base-items/violations", headers=auth,
                             params={"provider": credit_code_for(department)}).json()
        assert breaking["total"] == 0, breaking


def _zombie_systems(node: RunningNode, admin_token: str) -> list[str]:
    """The demo's zombies, once the audit chain's usage of the used one has arrived."""
    year = datetime.now(UTC).astimezone(CHINA_TIME).year
    deadline = time.monotonic() + 30
    while True:
        zombies = []
        for department in ("江苏省公安厅", "江苏省住房公积金管理中心"):
            listed = httpx.get(f"{node.gateway_url}/api/evaluation/systems", params={
                "period": year, "zombie": "true", "department": credit_code_for(department)},
                headers={"Authorization": f"Bearer {admin_token}"}).json()["items"]
            zombies += [system["name"] for system in listed]
        if len(zombies) == 1 or time.monotonic() > deadline:
            return zombies
        time.sleep(0.3)


def test_demo_seed_without_a_running_node_says_so(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "demo", "seed", "--gateway", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "Is it running" in result.stderr


def test_govshare_serve_runs_one_component_as_a_container_would(
    infrastructure: Infrastructure, node: RunningNode
) -> None:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=infrastructure.database_url,
               GOVSHARE_SERVICES=json.dumps(node.service_urls))
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve", "gateway", "--host",
                                "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 60, process=process)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).json()
        assert set(health["services"]) == set(node.service_urls)
    finally:
        process.terminate()
        process.wait(15)

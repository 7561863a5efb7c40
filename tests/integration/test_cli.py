"""The operator CLI: readable output, and a clear message and non-zero exit on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx

from cli.demo import credit_code_for
from cli.embedded import free_port, wait_for_port
from shared.workdays import CHINA_TIME
from tests import factories
from tests.conftest import Infrastructure, RunningNode


def govshare(infrastructure: Infrastructure, *args: str,
             stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the CLI as a script would: no terminal, `stdin` piped in."""
    env = dict(os.environ, DATABASE_URL=infrastructure.database_url, COLUMNS="200")
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


def test_node_init_refuses_an_unknown_tier(infrastructure: Infrastructure) -> None:
    result = govshare(infrastructure, "node", "init", "--name", "x", "--tier", "galactic",
                      "--region", "320100", "--zone", "external")
    assert result.returncode == 2
    assert "tier" in result.stderr


def test_demo_seed_loads_a_searchable_province_and_is_idempotent(
    infrastructure: Infrastructure, node: RunningNode, admin_token: str
) -> None:
    first = govshare(infrastructure, "demo", "seed", "--gateway", node.gateway_url)
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

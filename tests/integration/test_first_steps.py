"""The README's first steps, in the order written: `govshare up` (what `make run` runs) in one
terminal, then `node init`, a department, a client and a user in another, and the department
system's first token through the gateway."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.integration.local_node import Up, running_up


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with running_up(tmp_path) as node:
        yield node


def test_the_first_steps_work_in_the_order_the_readme_gives_them(up: Up) -> None:
    up.wait_for("govshare node 100000-external (external) is up")

    initialised = up.govshare("node", "init", "--name", "南京市政务数据共享交换平台", "--tier",
                              "municipal", "--region", "320100", "--zone", "external")
    assert initialised.returncode == 0, initialised.stderr
    assert "replaces the placeholder 100000-external" in initialised.stdout
    up.wait_for("govshare node 320100-external is up again")

    credit_code = factories.credit_code()
    department = up.govshare("department", "add", "--name", "南京市公安局", "--credit-code",
                             credit_code, "--tier", "municipal", "--region", "320100")
    assert department.returncode == 0, department.stderr
    client = up.govshare("client", "create", "--department", credit_code, "--name",
                         "人口基础信息库", "--role", "data_operator")
    assert client.returncode == 0, client.stderr
    credentials = dict(line.strip().split(":", 1) for line in client.stdout.splitlines()
                       if line.strip().startswith("client_"))
    user = up.govshare("user", "add", "--username", "admin", "--display-name", "王芳", "--role",
                       "node_admin", "--password-stdin", stdin="a long enough password\n")
    assert user.returncode == 0, user.stderr

    token = httpx.post(f"{up.gateway}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": credentials["client_id"].split()[0],
        "client_secret": credentials["client_secret"].split()[0]}, timeout=30)
    assert token.status_code == 200, token.text
    me = httpx.get(f"{up.gateway}/api/authorization/me", timeout=30, headers={
        "Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200, me.text
    login = httpx.post(f"{up.gateway}/auth/login", timeout=30, json={
        "username": "admin", "password": "a long enough password"})
    assert login.status_code == 200, login.text


def test_each_process_keeps_its_whole_log_as_json_in_a_file_of_its_own(up: Up) -> None:
    up.wait_for("govshare node 100000-external (external) is up")
    assert httpx.get(f"{up.gateway}/health", timeout=30).status_code == 200

    logs = up.home / "logs"
    for component in ("authorization", "catalog", "exchange", "evaluation", "gateway"):
        assert (logs / f"{component}.log").exists(), component
    deadline = time.monotonic() + 30
    while "GET /health 200" not in (logs / "gateway.log").read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the gateway's access line never reached its file"
        time.sleep(0.2)
    health = next(json.loads(line) for line in
                  (logs / "gateway.log").read_text(encoding="utf-8").splitlines()
                  if "GET /health 200" in line)
    assert health["logger"] == "govshare.access" and health["status"] == 200
    assert {"time", "level", "request_id", "duration_ms"} <= set(health)

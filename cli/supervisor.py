"""`govshare up`: run a whole node, each service its own process, until Ctrl-C.

Embedded PostgreSQL and broker start only when DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS are
unset. Children run in their own sessions so that Ctrl-C reaches the supervisor alone, which
then stops them in order: gateway, services, broker, database. Their output comes through the
supervisor: each process's whole log into `<home>/logs/<component>.log`, and at a terminal
only what a person should see, readably (`cli.process_logs`).

A service, the gateway or the embedded broker that exits is started again on its port, after
a pause that doubles with each exit in a row, and its siblings keep running: the services
reconnect to a new broker and republish to it (`shared.outbox`, `shared.consumer`). Only a
process that keeps crashing (`RestartPolicy`) stops the node, saying so. What the supervisor
does is on the terminal and, as JSON, in `<home>/logs/supervisor.log`; each process's id is
in `<home>/run/<component>.pid`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, port_is_open, wait_for_port
from cli.process_logs import relay
from cli.settings import CliSettings
from shared.http_server import uvicorn_command
from shared.logs import JsonFormatter

# Every backend service of a node, in start order. New services join this list.
SERVICES = ["authorization", "catalog", "exchange", "evaluation"]
KEEP_SECRETS = ("authorization", "exchange")  # what they keep is sealed with the KEK
# The website, served by the gateway at `/`; on the port after the services'.
PORTAL = "portal"
BROKER = "broker"

# Reads the node's identity from its database, making the placeholder if it has none.
Identify = Callable[[str], tuple[str, str]]
Launch = Callable[[], subprocess.Popen[bytes]]

log = logging.getLogger("govshare.supervisor")


def identity_marker(settings: CliSettings) -> Path:
    """The file `govshare node init` leaves when it changed the node's id or zone: a running
    `govshare up` then restarts its processes, which take both from their environment."""
    return Path(settings.home).resolve() / "identity-changed"


@dataclass(frozen=True)
class RestartPolicy:
    """How the supervisor answers a process that exits: start it again after `delay`, unless
    it exited `limit` times within `window_seconds`, which no pause will mend (a bad setting,
    a port taken, a migration that fails): then the node stops, saying which and why."""

    limit: int = 5
    window_seconds: float = 60.0
    first_delay: float = 0.5
    max_delay: float = 10.0

    def recent(self, exits: list[float], now: float) -> list[float]:
        """The exits that still count: those within the window."""
        return [moment for moment in exits if now - moment < self.window_seconds]

    def delay(self, exits_in_window: int) -> float:
        """Seconds to wait before the next start: doubling, so a process that dies at once
        does not spin, and capped, so one that recovers is not kept waiting long."""
        return min(self.first_delay * 2 ** max(exits_in_window - 1, 0), self.max_delay)

    def gives_up(self, exits_in_window: int) -> bool:
        return exits_in_window >= self.limit


@dataclass
class Child:
    """One process the supervisor keeps running: a service, the gateway or the broker."""

    name: str
    port: int
    launch: Launch
    process: subprocess.Popen[bytes] | None = None
    exits: list[float] = field(default_factory=list)
    restart_at: float | None = None  # set while a child that exited waits to start again
    restarted: bool = False  # started again and not listening yet


@dataclass
class Node:
    """The processes of one running node."""

    settings: CliSettings
    console: Console
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    broker_child: Child | None = None
    children: list[Child] = field(default_factory=list)
    relays: list[threading.Thread] = field(default_factory=list)
    # Signs the portal's form tokens for as long as this node runs: a portal started again
    # takes the form a person opened before it crashed (its own random key would refuse it).
    form_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def logs(self) -> Path:
        """Where each process's full log is kept, one file per component."""
        return Path(self.settings.home).resolve() / "logs"

    @property
    def pids(self) -> Path:
        """Where each process's id is kept while the node runs (to signal one of them)."""
        return Path(self.settings.home).resolve() / "run"

    def service_urls(self) -> dict[str, str]:
        base = self.settings.service_port_base
        return {name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(SERVICES, 1)}

    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.service_port_base + len(SERVICES) + 1}"

    def ports_taken(self) -> dict[str, int]:
        """The node's ports something else already listens on, by the component meant to:
        a node started there would see the stranger answer and its own process fail."""
        wanted = {"gateway": self.settings.gateway_port,
                  **{name: _port_of(url) for name, url in self.service_urls().items()},
                  PORTAL: _port_of(self.portal_url())}
        if self.settings.kafka_bootstrap_servers is None:  # the embedded broker's
            wanted[BROKER] = self.settings.broker_port
        return {name: port for name, port in wanted.items() if port_is_open(port)}

    def start_infrastructure(self) -> tuple[str, str]:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        _log_to(self.logs / "supervisor.log")
        database_url = self.settings.database_url
        if database_url is None:
            self.postgres = EmbeddedPostgres(Path(self.settings.home).resolve() / "postgres")
            database_url = self.postgres.start()
            self.console.print(f"[green]✓[/] embedded PostgreSQL, data in {self.postgres.data_dir}")
        bootstrap = self.settings.kafka_bootstrap_servers
        if bootstrap is None:
            broker = EmbeddedBroker(self.settings.broker_port, log_file=self.logs / "broker.log")
            bootstrap = broker.start()
            assert broker.process is not None
            self.broker, self.broker_child = broker, Child(BROKER, broker.port, broker.launch,
                                                           broker.process)
            self._write_pid(self.broker_child)
            self.console.print(f"[green]✓[/] embedded broker on {bootstrap} (memory storage)")
        return database_url, bootstrap

    def start_processes(self, database_url: str, bootstrap: str, node: tuple[str, str]) -> None:
        urls = self.service_urls()
        node_id, zone = node
        env = dict(os.environ, DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                   GOVSHARE_NODE_ID=node_id, GOVSHARE_NODE_ZONE=zone,
                   GOVSHARE_JWKS_URL=f"{urls['authorization']}/jwks",
                   GOVSHARE_IDENTITY_SERVICE_URL=urls["authorization"],
                   GOVSHARE_SERVICES=json.dumps(urls),
                   GOVSHARE_PORTAL_URL=self.portal_url(),
                   GOVSHARE_GATEWAY_URL=f"http://127.0.0.1:{self.settings.gateway_port}")
        urls = {**urls, PORTAL: self.portal_url()}
        services = [self._child(name, f"services.{name}.app:create_app", "127.0.0.1",
                                _port_of(url), env | self._secrets_of(name, env))
                    for name, url in urls.items()]
        for child in services:
            self._start(child)
        for child, url in zip(services, urls.values(), strict=True):
            wait_for_port(child.port, 60, process=child.process)
            self.console.print(f"[green]✓[/] {child.name} on {url}")
        gateway = self._child("gateway", "gateway.app:create_app", self.settings.host,
                              self.settings.gateway_port, env)
        self._start(gateway)
        wait_for_port(gateway.port, 60, process=gateway.process)

    def _secrets_of(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """What only `name` is given: the KEK to the services that keep secrets, the form key
        to the portal (one a person set in the environment wins)."""
        if name in KEEP_SECRETS:
            return {"GOVSHARE_KEK": self.settings.node_kek()}
        if name == PORTAL:
            return {"GOVSHARE_CSRF_KEY": env.get("GOVSHARE_CSRF_KEY") or self.form_key}
        return {}

    def _child(self, name: str, factory: str, host: str, port: int,
               env: dict[str, str]) -> Child:
        command = uvicorn_command(factory, host, port, "--log-level", "warning")

        def launch() -> subprocess.Popen[bytes]:
            process = subprocess.Popen(command, env=env, start_new_session=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert process.stdout is not None
            self.relays = [thread for thread in self.relays if thread.is_alive()]
            self.relays.append(relay(name, process.stdout, self.logs / f"{name}.log",
                                     self.console, sys.stderr.buffer))
            return process

        child = Child(name, port, launch)
        self.children.append(child)
        return child

    def _start(self, child: Child) -> None:
        child.process = child.launch()
        self._write_pid(child)

    def _write_pid(self, child: Child) -> None:
        assert child.process is not None
        # Replaced whole: a reader (a person's `kill $(cat …)`) never sees it half-written.
        written = self.pids / f"{child.name}.pid.tmp"
        written.write_text(f"{child.process.pid}\n")
        os.replace(written, self.pids / f"{child.name}.pid")

    def watch(self, database_url: str, bootstrap: str, identity: tuple[str, str],
              identify: Identify) -> int:
        """Keep the children running until the supervisor is told to stop (returns 0) or one
        of them keeps crashing (1); restart them all when the node's identity changed."""
        marker = identity_marker(self.settings)
        while True:
            for child in self.supervised():
                if not self.tend(child, time.monotonic()):
                    return 1
            if marker.exists():
                marker.unlink(missing_ok=True)
                now = identify(database_url)
                if now != identity:
                    self.console.print(f"[yellow]![/] the node is now {now[0]} ({now[1]}); "
                                       "restarting its processes under it")
                    self.stop_children()
                    self.start_processes(database_url, bootstrap, now)
                    self.console.print(f"[bold green]govshare node {now[0]} is up again[/]")
                    identity = now
            time.sleep(0.25)

    def supervised(self) -> list[Child]:
        """Every child, the broker first (the services need it)."""
        return ([self.broker_child] if self.broker_child else []) + self.children

    def tend(self, child: Child, now: float) -> bool:
        """Look after one child: start it again when its pause is over, say when it listens
        again, and notice when it exited. False when it exited too often to go on."""
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restart_at, child.restarted = None, True
                self._start(child)
            return True
        assert child.process is not None
        if child.process.poll() is None:
            if child.restarted and port_is_open(child.port):
                child.restarted = False
                self._say(logging.INFO, f"[green]✓[/] {child.name} is back on port "
                          f"{child.port}", "restarted", child)
            return True
        return self._exited(child, now)

    def _exited(self, child: Child, now: float) -> bool:
        assert child.process is not None
        child.exits = self.policy.recent([*child.exits, now], now)
        count, how = len(child.exits), _how_it_ended(child.process.returncode)
        log_file = self.logs / f"{child.name}.log"
        if self.policy.gives_up(count):
            self._say(logging.CRITICAL,
                      f"[red]✗ {child.name} {how} {count} times within "
                      f"{self.policy.window_seconds:g} s; it will not stay up, so the node "
                      f"stops. Its log: {log_file}[/]", "gave up", child, exits=count)
            return False
        delay = self.policy.delay(count)
        child.restart_at = now + delay
        self._say(logging.WARNING,
                  f"[yellow]![/] {child.name} {how}; starting it again in {delay:g} s "
                  f"({count} of {self.policy.limit} exits allowed within "
                  f"{self.policy.window_seconds:g} s; its log: {log_file})",
                  "exited; restarting", child, exits=count, delay_seconds=delay)
        return True

    def _say(self, level: int, shown: str, message: str, child: Child,
             **fields: object) -> None:
        """Tell the person at the terminal and the supervisor's log file."""
        self.console.print(shown, soft_wrap=True)  # one line each, also in a file
        assert child.process is not None
        log.log(level, message, extra={"child": child.name, "port": child.port,
                                       "pid": child.process.pid,
                                       "returncode": child.process.returncode, **fields})

    def stop_children(self) -> None:
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            _wait_or_kill(child.process)
            (self.pids / f"{child.name}.pid").unlink(missing_ok=True)
        for thread in self.relays:
            thread.join(5)  # the last lines a process wrote before it ended
        self.children.clear()
        self.relays.clear()

    def stop(self) -> None:
        self.stop_children()
        if self.broker:
            self.broker.stop()
            (self.pids / f"{BROKER}.pid").unlink(missing_ok=True)
        left = []
        if self.postgres:
            # Whichever PostgreSQL serves the node's data now: one restarted by hand too.
            if not self.postgres.stop_whoever_runs_it():
                left.append(f"PostgreSQL (data in {self.postgres.data_dir})")
        if self.broker and self.broker.process and self.broker.process.poll() is None:
            left.append(f"the broker (pid {self.broker.process.pid})")
        if left:
            self.console.print(f"[red]✗ node stopped, but still running: {', '.join(left)}[/]")
        else:
            self.console.print("[green]✓[/] node stopped; nothing left running")


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _how_it_ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with {returncode}"


def _wait_or_kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _log_to(path: Path) -> None:
    """The supervisor's own records, as JSON lines like every other process's log."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False  # the terminal hears it from the console already


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_node(settings: CliSettings, console: Console, identify: Identify) -> int:
    """Start everything, print where it is, and supervise until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    # Closing the terminal stops the node as Ctrl-C does, rather than orphaning its processes.
    signal.signal(signal.SIGHUP, _raise_interrupt)
    node = Node(settings=settings, console=console)
    if taken := node.ports_taken():
        listed = ", ".join(f"{port} ({name})" for name, port in taken.items())
        console.print(f"[red]✗[/] something already listens on {listed}: another govshare "
                      "node, or another program. Stop it, or give this node other ports "
                      "(GOVSHARE_GATEWAY_PORT, GOVSHARE_SERVICE_PORT_BASE, GOVSHARE_BROKER_PORT).")
        return 1
    try:
        database_url, bootstrap = node.start_infrastructure()
        # A change made while the node was down is in the database already.
        identity_marker(settings).unlink(missing_ok=True)
        node_id, zone = identify(database_url)
        node.start_processes(database_url, bootstrap, (node_id, zone))
        console.print(f"[bold green]govshare node {node_id} ({zone}) is up[/]: "
                      f"http://{settings.host}:{settings.gateway_port} "
                      f"(API docs at /docs, health at /health). Ctrl-C stops it.")
        console.print(f"  each process's full log (JSON): {node.logs}/<component>.log")
        return node.watch(database_url, bootstrap, (node_id, zone), identify)
    except KeyboardInterrupt:
        return 0
    finally:
        node.stop()

"""`govshare up`: run a whole node, each service its own process, until Ctrl-C.

Embedded PostgreSQL and broker start only when DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS are
unset. Children run in their own sessions so that Ctrl-C reaches the supervisor alone, which
then stops them in order: gateway, services, broker, database. Their output comes through the
supervisor: each process's whole log into `<home>/logs/<component>.log`, and at a terminal
only what a person should see, readably (`cli.process_logs`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, wait_for_port
from cli.process_logs import relay
from cli.settings import CliSettings
from shared.http_server import uvicorn_command

# Every backend service of a node, in start order. New services join this list.
SERVICES = ["authorization", "catalog", "exchange", "evaluation"]

# Reads the node's identity from its database, making the placeholder if it has none.
Identify = Callable[[str], tuple[str, str]]


def identity_marker(settings: CliSettings) -> Path:
    """The file `govshare node init` leaves when it changed the node's id or zone: a running
    `govshare up` then restarts its processes, which take both from their environment."""
    return Path(settings.home).resolve() / "identity-changed"


@dataclass
class Node:
    """The processes of one running node."""

    settings: CliSettings
    console: Console
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    relays: list[threading.Thread] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        """Where each process's full log is kept, one file per component."""
        return Path(self.settings.home).resolve() / "logs"

    def service_urls(self) -> dict[str, str]:
        base = self.settings.service_port_base
        return {name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(SERVICES, 1)}

    def start_infrastructure(self) -> tuple[str, str]:
        self.logs.mkdir(parents=True, exist_ok=True)
        database_url = self.settings.database_url
        if database_url is None:
            self.postgres = EmbeddedPostgres(Path(self.settings.home).resolve() / "postgres")
            database_url = self.postgres.start()
            self.console.print(f"[green]✓[/] embedded PostgreSQL, data in {self.postgres.data_dir}")
        bootstrap = self.settings.kafka_bootstrap_servers
        if bootstrap is None:
            log_file = self.logs / "broker.log"
            self.broker = EmbeddedBroker(self.settings.broker_port, log_file=log_file)
            bootstrap = self.broker.start()
            self.console.print(f"[green]✓[/] embedded broker on {bootstrap} (memory storage)")
        return database_url, bootstrap

    def start_processes(self, database_url: str, bootstrap: str, node: tuple[str, str]) -> None:
        urls = self.service_urls()
        node_id, zone = node
        env = dict(os.environ, DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                   GOVSHARE_NODE_ID=node_id, GOVSHARE_NODE_ZONE=zone,
                   GOVSHARE_JWKS_URL=f"{urls['authorization']}/jwks",
                   GOVSHARE_IDENTITY_SERVICE_URL=urls["authorization"],
                   GOVSHARE_SERVICES=json.dumps(urls))
        for name, url in urls.items():
            port = int(url.rsplit(":", 1)[1])
            self._spawn(name, f"services.{name}.app:create_app", "127.0.0.1", port, env)
        for name, url in urls.items():
            wait_for_port(int(url.rsplit(":", 1)[1]), 60, process=dict(self.children)[name])
            self.console.print(f"[green]✓[/] {name} on {url}")
        port = self.settings.gateway_port
        self._spawn("gateway", "gateway.app:create_app", self.settings.host, port, env)
        wait_for_port(port, 60, process=dict(self.children)["gateway"])

    def _spawn(self, name: str, factory: str, host: str, port: int, env: dict[str, str]) -> None:
        command = uvicorn_command(factory, host, port, "--log-level", "warning")
        process = subprocess.Popen(command, env=env, start_new_session=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        self.relays.append(relay(name, process.stdout, self.logs / f"{name}.log", self.console,
                                 sys.stderr.buffer))
        self.children.append((name, process))

    def watch(self, database_url: str, bootstrap: str, identity: tuple[str, str],
              identify: Identify) -> int:
        """Wait until a child dies (returns 1) or the supervisor is told to stop (0);
        restart the children when the node's identity changed under them."""
        marker = identity_marker(self.settings)
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    self.console.print(f"[red]✗ {name} exited with {process.returncode}; "
                                       f"its log: {self.logs / name}.log[/]")
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
            time.sleep(0.5)

    def stop_children(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in reversed(self.children):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in self.relays:
            thread.join(5)  # the last lines a process wrote before it ended
        self.children.clear()
        self.relays.clear()

    def stop(self) -> None:
        self.stop_children()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
        self.console.print("[green]✓[/] node stopped; nothing left running")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_node(settings: CliSettings, console: Console, identify: Identify) -> int:
    """Start everything, print where it is, and supervise until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    # Closing the terminal stops the node as Ctrl-C does, rather than orphaning its processes.
    signal.signal(signal.SIGHUP, _raise_interrupt)
    node = Node(settings=settings, console=console)
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

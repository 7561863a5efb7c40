"""A `govshare up` of its own, as a person runs it: embedded PostgreSQL and broker, ports
nobody uses, its output in a file the tests read."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli.embedded import port_is_open
from cli.supervisor import BROKER, PORTAL, SERVICES

# `govshare up` serves its services on the ports after its base, then the portal.
SERVICE_PORTS = len(SERVICES) + 1
LOCAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@dataclass
class Up:
    """A running `govshare up` and where it keeps its data."""

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
        while text not in self.output or not self.healthy():
            assert self.process.poll() is None, f"govshare up stopped:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output}"
            time.sleep(0.5)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.gateway}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def ports(self) -> dict[str, int]:
        """Where each of its processes listens, by component (as `pid` names them)."""
        base = int(self.env["GOVSHARE_SERVICE_PORT_BASE"])
        return {"gateway": int(self.env["GOVSHARE_GATEWAY_PORT"]),
                BROKER: int(self.env["GOVSHARE_BROKER_PORT"]),
                **{name: base + i for i, name in enumerate([*SERVICES, PORTAL], 1)}}

    def pid(self, component: str) -> int:
        """The process id the supervisor gives for a component (`<home>/run/<name>.pid`)."""
        return int((self.home / "run" / f"{component}.pid").read_text())

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C, as a person at the terminal stops it; its exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout)


def _unused_ports(count: int) -> int:
    """The first of `count` ports in a row that nothing holds, below the kernel's ephemeral
    range: a port from that range (`free_port()`) may be handed to another test's server or
    to any outgoing connection in the seconds before `govshare up` binds it, and the process
    it was meant for then crash-loops and stops the node."""
    ephemeral_from = _ephemeral_range_start()
    for _ in range(50):
        first = random.randrange(10_000, ephemeral_from - count)
        if all(_bindable(port) for port in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} unused ports in a row below {ephemeral_from}")


def _ephemeral_range_start() -> int:
    try:
        return int(LOCAL_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return not port_is_open(port)


@contextmanager
def running_up(home: Path) -> Iterator[Up]:
    """`govshare up` with its data in `home`; stopped (Ctrl-C, then kill) afterwards."""
    # The gateway, the broker, then the services and the portal (on the ports after their
    # base, which is the broker's).
    gateway_port = _unused_ports(2 + SERVICE_PORTS)
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(GOVSHARE_HOME=str(home), GOVSHARE_GATEWAY_PORT=str(gateway_port),
               GOVSHARE_BROKER_PORT=str(gateway_port + 1),
               GOVSHARE_SERVICE_PORT_BASE=str(gateway_port + 1), COLUMNS="200")
    with open(home / "up.out", "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "cli", "up"], env=env, stdout=output,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    node = Up(home, env, f"http://127.0.0.1:{gateway_port}", process)
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

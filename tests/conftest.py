"""The test session's own real PostgreSQL and broker, and the node's processes over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, wait_for_port
from shared import sealing
from shared.http_server import uvicorn_command
from tests.collector import TraceCollector

# The test nodes' key-encryption key, one per session: every process the tests start (services,
# CLI runs) inherits it, and the tests that make signing keys in-process seal with it too.
os.environ.setdefault("GOVSHARE_KEK", sealing.new_key_setting("test"))
sealing.install_from(os.environ["GOVSHARE_KEK"])


@dataclass(frozen=True)
class Infrastructure:
    database_url: str
    bootstrap_servers: str
    workdir: Path


@dataclass(frozen=True)
class RunningNode:
    gateway_url: str
    service_urls: dict[str, str]
    clock_file: Path  # the offset of the node's business time (the `clock` fixture writes it)
    portal_url: str = ""  # the portal itself (people reach it through the gateway)
    smtp_port: int = 0  # where the portal mails notices (a test starts a server there)


@pytest.fixture(scope="session")
def infrastructure(request: pytest.FixtureRequest) -> Iterator[Infrastructure]:
    """PostgreSQL and the broker for the whole session; the processes' logs are kept in the
    work directory only when a test failed (the path is printed)."""
    workdir = Path(tempfile.mkdtemp(prefix="govshare-test-"))
    postgres = EmbeddedPostgres(workdir / "postgres", delete_on_stop=True)
    broker = EmbeddedBroker(free_port(), log_file=workdir / "broker.log")
    database_url = postgres.start()
    try:
        broker.start()
        yield Infrastructure(database_url, broker.bootstrap_servers, workdir)
    finally:
        broker.stop()
        postgres.stop()
        if request.session.testsfailed:
            print(f"\nlogs of the node's processes: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _spawn(factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = uvicorn_command(factory, "127.0.0.1", port)
    with open(log, "ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    wait_for_port(port, 60, process=process)
    return process


@pytest.fixture(scope="session")
def traces() -> Iterator[TraceCollector]:
    """Where the node's processes export their traces (OTLP over HTTP)."""
    collector = TraceCollector()
    collector.start()
    yield collector
    collector.stop()


COMPONENTS = {"authorization": "services.authorization.app:create_app",
              "catalog": "services.catalog.app:create_app",
              "exchange": "services.exchange.app:create_app",
              "evaluation": "services.evaluation.app:create_app",
              "portal": "services.portal.app:create_app",
              "gateway": "gateway.app:create_app"}


class NodeProcesses:
    """Every service of a node and the gateway, each a real uvicorn process on its own port;
    any one can be killed and started again on the same port (fault tests)."""

    def __init__(self, infrastructure: Infrastructure, **settings: str) -> None:
        self.ports = {name: free_port() for name in COMPONENTS}
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.logs = infrastructure.workdir
        self.clock_file = infrastructure.workdir / "clock"
        self.smtp_port = free_port()
        services = {name: url for name, url in self.urls.items()
                    if name not in ("gateway", "portal")}
        identity = self.urls["authorization"]
        self.env = dict(os.environ, DATABASE_URL=infrastructure.database_url,
                        KAFKA_BOOTSTRAP_SERVERS=infrastructure.bootstrap_servers,
                        GOVSHARE_NODE_ID="test-node", GOVSHARE_JWKS_URL=f"{identity}/jwks",
                        GOVSHARE_IDENTITY_SERVICE_URL=identity,
                        GOVSHARE_SERVICES=json.dumps(services),
                        GOVSHARE_PORTAL_URL=self.urls["portal"],
                        GOVSHARE_GATEWAY_URL=self.urls["gateway"],
                        # Nothing listens there until a mail test starts its server.
                        GOVSHARE_SMTP_HOST="127.0.0.1", GOVSHARE_SMTP_PORT=str(self.smtp_port),
                        GOVSHARE_SMTP_STARTTLS="false", GOVSHARE_MAIL_POLL_SECONDS="0.2",
                        GOVSHARE_MAIL_RETRY_SECONDS="0.5",
                        GOVSHARE_RECTIFICATION_CHECK_SECONDS="1",
                        GOVSHARE_RATE_LIMIT_PER_SECOND="50", GOVSHARE_RATE_LIMIT_BURST="100",
                        GOVSHARE_MAX_BODY_BYTES="65536", GOVSHARE_SWEEP_INTERVAL_SECONDS="0.5",
                        # The session's tokens are fetched once: they must outlast a slow
                        # run (15 minutes is the default); expiry is tested with made tokens.
                        GOVSHARE_TOKEN_TTL_SECONDS="7200",
                        # Search results kept an hour: a change must show by itself.
                        GOVSHARE_SEARCH_CACHE_SECONDS="3600",
                        GOVSHARE_FRESHNESS_INTERVAL_SECONDS="0.5",
                        GOVSHARE_CLOCK_FILE=str(self.clock_file),
                        # The node's own files (its audit anchor archive, say), per session.
                        GOVSHARE_HOME=str(infrastructure.workdir / "home"),
                        # The tests' stand-ins for providers' own APIs listen here alone.
                        GOVSHARE_SOURCE_API_ALLOWED_NETWORKS='["127.0.0.1/32"]', **settings)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> RunningNode:
        for name in COMPONENTS:
            self.start_one(name)
        services = {name: url for name, url in self.urls.items()
                    if name not in ("gateway", "portal")}
        return RunningNode(self.urls["gateway"], services, self.clock_file, self.urls["portal"],
                           self.smtp_port)

    def start_one(self, name: str) -> None:
        self.processes[name] = _spawn(COMPONENTS[name], self.ports[name], self.env,
                                      self.logs / f"{name}.log")

    def kill(self, name: str) -> None:
        """kill -9: no shutdown, no cleanup, as a crash or an OOM kill leaves it."""
        process = self.processes.pop(name)
        process.kill()
        process.wait(15)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(15)
        self.processes.clear()


@pytest.fixture(scope="session")
def node(infrastructure: Infrastructure, traces: TraceCollector) -> Iterator[RunningNode]:
    """Every service of a node and the gateway, each a real uvicorn process."""
    processes = NodeProcesses(infrastructure, OTEL_EXPORTER_OTLP_ENDPOINT=traces.endpoint,
                              OTEL_BSP_SCHEDULE_DELAY="200")
    try:
        yield processes.start()
    finally:
        processes.stop()


@pytest.fixture
async def gateway(node: RunningNode) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as client:
        yield client

"""The test session's own real PostgreSQL and broker, and the node's processes over HTTP."""

from __future__ import annotations

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
from shared.http_server import uvicorn_command
from tests.collector import TraceCollector


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


@pytest.fixture(scope="session")
def node(infrastructure: Infrastructure, traces: TraceCollector) -> Iterator[RunningNode]:
    """Every service of a node and the gateway, each a real uvicorn process."""
    import json

    authorization_port, catalog_port, exchange_port, evaluation_port, gateway_port = (
        free_port(), free_port(), free_port(), free_port(), free_port())
    authorization_url = f"http://127.0.0.1:{authorization_port}"
    service_urls = {"authorization": authorization_url,
                    "catalog": f"http://127.0.0.1:{catalog_port}",
                    "exchange": f"http://127.0.0.1:{exchange_port}",
                    "evaluation": f"http://127.0.0.1:{evaluation_port}"}
    env = dict(os.environ, DATABASE_URL=infrastructure.database_url,
               KAFKA_BOOTSTRAP_SERVERS=infrastructure.bootstrap_servers,
               GOVSHARE_NODE_ID="test-node", GOVSHARE_JWKS_URL=f"{authorization_url}/jwks",
               GOVSHARE_IDENTITY_SERVICE_URL=authorization_url,
               GOVSHARE_SERVICES=json.dumps(service_urls),
               GOVSHARE_RATE_LIMIT_PER_SECOND="50", GOVSHARE_RATE_LIMIT_BURST="100",
               GOVSHARE_MAX_BODY_BYTES="65536", GOVSHARE_SWEEP_INTERVAL_SECONDS="0.5",
               GOVSHARE_FRESHNESS_INTERVAL_SECONDS="0.5",
               OTEL_EXPORTER_OTLP_ENDPOINT=traces.endpoint, OTEL_BSP_SCHEDULE_DELAY="200")
    clock_file = infrastructure.workdir / "clock"
    env["GOVSHARE_CLOCK_FILE"] = str(clock_file)
    logs = infrastructure.workdir
    processes = [
        _spawn("services.authorization.app:create_app", authorization_port, env,
               logs / "authorization.log"),
        _spawn("services.catalog.app:create_app", catalog_port, env, logs / "catalog.log"),
        _spawn("services.exchange.app:create_app", exchange_port, env, logs / "exchange.log"),
        _spawn("services.evaluation.app:create_app", evaluation_port, env,
               logs / "evaluation.log"),
        _spawn("gateway.app:create_app", gateway_port, env, logs / "gateway.log"),
    ]
    try:
        yield RunningNode(f"http://127.0.0.1:{gateway_port}", service_urls, clock_file)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


@pytest.fixture
async def gateway(node: RunningNode) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as client:
        yield client

"""Four real nodes for the federation tests: national ← Jiangsu ← {Nanjing, Suzhou}, each
with its own database (on the session's PostgreSQL server), its own broker, and its own
authorization, catalog, exchange and gateway processes, and an evaluation service at Jiangsu
and Nanjing, where reports go up (no more: the machine's two cores run them all); only the
gateways are called across nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from cli.database import identity_session
from cli.embedded import EmbeddedBroker, free_port, wait_for_port
from cli.settings import CliSettings
from services.authorization import directory, federation
from services.authorization.node_keys import init_node
from services.authorization.schemas import NodeInit, UserCreate
from shared.contracts import Role, Tier, Zone
from shared.db import driver_dsn
from shared.http_server import uvicorn_command

PASSWORD = "a long enough federation password"
SERVICES = ("authorization", "catalog", "exchange")


@dataclass
class Node:
    name: str
    tier: Tier
    region: str
    zone: Zone
    database_url: str
    workdir: Path
    broker: EmbeddedBroker | None = None
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    admin_token: str = ""
    traces_endpoint: str = ""  # the test session's trace collector
    services: tuple[str, ...] = SERVICES

    @property
    def node_id(self) -> str:
        return f"{self.region}-{self.zone}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self) -> dict[str, str]:
        assert self.broker is not None
        return dict(os.environ, DATABASE_URL=self.database_url,
                    KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap_servers,
                    GOVSHARE_NODE_ID=self.node_id, GOVSHARE_NODE_ZONE=self.zone,
                    GOVSHARE_JWKS_URL=f"{self.url('authorization')}/jwks",
                    GOVSHARE_IDENTITY_SERVICE_URL=self.url("authorization"),
                    GOVSHARE_SERVICES=json.dumps({name: self.url(name)
                                                  for name in self.services}),
                    GOVSHARE_FEDERATION_PUSH_SECONDS="0.2",
                    GOVSHARE_NETWORK_EXCHANGE_SECONDS="0.5",
                    GOVSHARE_AUDIT_ANCHOR_INTERVAL_SECONDS="0.2",
                    GOVSHARE_HOME=str(self.workdir / self.node_id),
                    GOVSHARE_RATE_LIMIT_PER_SECOND="500", GOVSHARE_RATE_LIMIT_BURST="1000",
                    OTEL_EXPORTER_OTLP_ENDPOINT=self.traces_endpoint,
                    OTEL_BSP_SCHEDULE_DELAY="200")

    def start(self, component: str) -> None:
        self.launch(component)
        wait_for_port(self.ports[component], 60, process=self.processes[component])

    def launch(self, component: str) -> None:
        """Start the process without waiting for it to listen: a network's processes start
        together, on every core, rather than one after the other."""
        factory = ("gateway.app:create_app" if component == "gateway"
                   else f"services.{component}.app:create_app")
        with open(self.workdir / f"{self.node_id}-{component}.log", "ab") as output:
            self.processes[component] = subprocess.Popen(
                uvicorn_command(factory, "127.0.0.1", self.ports[component]), env=self.env(),
                stdout=output, stderr=subprocess.STDOUT)

    def stop(self, component: str) -> None:
        process = self.processes.pop(component)
        process.terminate()
        process.wait(15)

    def kill(self, component: str) -> None:
        process = self.processes.pop(component)
        process.kill()
        process.wait(15)

    def govshare(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DATABASE_URL=self.database_url, COLUMNS="200",
                   GOVSHARE_GATEWAY_PORT=str(self.ports["gateway"]))
        return subprocess.run([sys.executable, "-m", "cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)


NODES = (("全国", Tier.national, "100000", Zone.external, SERVICES),
         ("江苏省", Tier.provincial, "320000", Zone.internal, (*SERVICES, "evaluation")),
         ("南京市", Tier.municipal, "320100", Zone.internal, (*SERVICES, "evaluation")),
         ("苏州市", Tier.municipal, "320500", Zone.external, SERVICES))


async def start_network(server_url: str, workdir: Path, traces_endpoint: str) -> list[Node]:
    """National ← Jiangsu ← {Nanjing, Suzhou}, initialised, running, with an admin each, not
    linked. What was started is stopped again if a later step fails."""
    nodes: list[Node] = []
    try:
        for name, tier, region, zone, services in NODES:
            nodes.append(await _prepare_node(server_url, workdir, name, tier, region, zone,
                                             services, traces_endpoint))
        for node in nodes:
            for component in (*node.services, "gateway"):
                node.launch(component)
        for node in nodes:
            for component, process in node.processes.items():
                wait_for_port(node.ports[component], 120, process=process)
            await _log_in(node)
    except BaseException:
        stop_network(nodes)
        raise
    return nodes


async def _prepare_node(server_url: str, workdir: Path, name: str, tier: Tier, region: str,
                        zone: Zone, services: tuple[str, ...], traces_endpoint: str) -> Node:
    """The node's database, initialised, and its broker, running; its processes not yet."""
    database = f"node_{region}"
    await _create_database(server_url, database)
    node = Node(name=f"{name}政务数据共享交换平台", tier=tier, region=region, zone=zone,
                database_url=make_url(server_url).set(database=database)
                .render_as_string(hide_password=False), workdir=workdir,
                traces_endpoint=traces_endpoint, services=services)
    node.broker = EmbeddedBroker(free_port(), log_file=workdir / f"{region}-broker.log")
    node.broker.start()
    try:
        node.ports = {component: free_port() for component in (*node.services, "gateway")}
        await _initialise(node)
    except BaseException:
        stop_network([node])
        raise
    return node


async def _log_in(node: Node) -> None:
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as client:
        response = await client.post("/auth/login", json={"username": f"admin-{node.region}",
                                                          "password": PASSWORD})
        response.raise_for_status()
        node.admin_token = response.json()["access_token"]


def stop_network(nodes: list[Node]) -> None:
    for node in nodes:
        for component in list(node.processes):
            node.stop(component)
        if node.broker:
            node.broker.stop()


async def invitation(parent: Node, child: Node) -> str:
    async with identity_session(CliSettings(), parent.database_url) as (session, _):
        invited = await federation.invite(session, child_node_id=child.node_id, actor="test",
                                          valid_for=timedelta(hours=1))
    return invited.code


async def _create_database(server_url: str, database: str) -> None:
    connection = await asyncpg.connect(driver_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


async def _initialise(node: Node) -> None:
    username = f"admin-{node.region}"
    async with identity_session(CliSettings(), node.database_url) as (session, outbox):
        await init_node(session, outbox, NodeInit(name=node.name, tier=node.tier,
                                                  region_code=node.region, zone=node.zone))
        await directory.add_user(session, outbox, UserCreate(
            username=username, display_name="运维", roles=[Role.node_admin],
            password=PASSWORD))

"""`govshare demo federation` (`make federation-demo`): three tiers on one machine.

National 100000 (external zone) ← Jiangsu 320000 (internal) ← Nanjing 320100 (internal):
each a whole node started by `govshare up` with its own embedded PostgreSQL, broker and
ports, linked with `govshare node invite` / `govshare node link`. The walk-through publishes
in Nanjing and times the arrival at the national node (F1), shows that an internal-only
entry stops at Jiangsu (F3), and takes Jiangsu down while Nanjing keeps publishing (F4).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from cli.demo import credit_code_for, entry_from_template
from cli.demo_data import RESOURCES, demo_people_csv

PASSWORD = "demo federation password 1"


@dataclass
class DemoNode:
    """One node of the demonstration, run by its own `govshare up`."""

    label: str
    tier: str
    region: str
    zone: str
    home: Path
    gateway_port: int
    service_port_base: int
    broker_port: int
    process: subprocess.Popen[bytes] | None = None
    admin_token: str = ""
    editor: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return f"{self.region}-{self.zone}"

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
        return dict(env, GOVSHARE_HOME=str(self.home),
                    GOVSHARE_GATEWAY_PORT=str(self.gateway_port),
                    GOVSHARE_SERVICE_PORT_BASE=str(self.service_port_base),
                    GOVSHARE_BROKER_PORT=str(self.broker_port),
                    GOVSHARE_FEDERATION_PUSH_SECONDS="0.2", COLUMNS="120", **self.extra_env)

    def govshare(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "cli", *args], env=self.env(),
                                capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"govshare {' '.join(args)} on {self.label}: {result.stderr}")
        return result.stdout

    def up(self) -> None:
        log = open(self.home / "up.log", "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "cli", "up"], env=self.env(),
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} stopped; see {self.home / 'up.log'}")
            try:
                if httpx.get(f"{self.gateway}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.label} did not come up; see {self.home / 'up.log'}")

    def down(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(60)
        self.process = None


NODES = (("全国 national", "national", "100000", "external"),
         ("江苏 Jiangsu", "provincial", "320000", "internal"),
         ("南京 Nanjing", "municipal", "320100", "internal"))


def network(workdir: Path, base_port: int = 18000,
            extra_env: dict[str, str] | None = None) -> list[DemoNode]:
    """The three nodes' homes and ports (gateways on base_port, +10, +20)."""
    return [DemoNode(label=label, tier=tier, region=region, zone=zone,
                     home=workdir / region, gateway_port=base_port + 10 * index,
                     service_port_base=base_port + 100 * (index + 1),
                     broker_port=base_port + 1092 + index, extra_env=extra_env or {})
            for index, (label, tier, region, zone) in enumerate(NODES)]


def start(nodes: list[DemoNode], say: Callable[[str], None]) -> None:
    """Initialise, start and link the nodes, with an admin and a catalog editor on each."""
    for node in nodes:
        node.home.mkdir(parents=True, exist_ok=True)
        node.govshare("node", "init", "--name", f"{node.label}政务数据共享交换平台",
                      "--tier", node.tier, "--region", node.region, "--zone", node.zone)
        node.govshare("user", "add", "--username", "ops", "--display-name", "运维",
                      "--role", "node_admin", "--password", PASSWORD)
        node.up()
        node.admin_token = _login(node)
        say(f"[green]✓[/] {node.label} {node.node_id} up at {node.gateway}")
    for parent, child in itertools.pairwise(nodes):
        invitation = parent.govshare("node", "invite", "--child", child.node_id)
        code = invitation.split("--invitation", 1)[1].split()[0]
        child.govshare("node", "link", "--parent", parent.gateway, "--invitation", code,
                       "--public-url", child.gateway)
        say(f"[green]✓[/] {child.node_id} linked to its parent {parent.node_id}")
    for node in nodes:
        node.editor = _department_editor(node)


def walk_through(nodes: list[DemoNode], console: Console) -> None:
    national, jiangsu, nanjing = nodes
    console.rule("F1: Nanjing's catalog flows up, with its provenance")
    table = Table("entry (published in 南京)", "seen at 江苏", "seen at 全国", "path")
    for template in RESOURCES["江苏省公安厅"]:
        body = demo_entry(template)
        published_at = time.monotonic()
        publish(nanjing, body)
        at_jiangsu = wait_visible(jiangsu, body["name"], since=published_at)
        at_national = wait_visible(national, body["name"], since=published_at)
        table.add_row(body["name"], f"{at_jiangsu['seconds']:.2f} s",
                      f"{at_national['seconds']:.2f} s",
                      " → ".join([*at_national["item"]["aggregated_via"], national.node_id]))
    console.print(table)

    console.rule("F3: an internal-only (涉密) entry stops at the last internal node")
    secret = demo_entry(RESOURCES["江苏省公安厅"][0], "南京市涉密载体管理信息", classified=True)
    after = demo_entry(RESOURCES["江苏省公安厅"][0], "南京市社区服务设施信息")
    publish(nanjing, secret)
    publish(nanjing, after)
    wait_visible(national, after["name"])
    wait_visible(jiangsu, secret["name"])
    console.print(f"  {secret['name']}: at 江苏 (internal) present; at 全国 (external) "
                  f"{'PRESENT' if search(national, secret['name']) else 'absent'}, though "
                  f"{after['name']}, published after it, arrived")

    console.rule("F4: Jiangsu goes down; Nanjing keeps publishing; Jiangsu comes back")
    jiangsu.down()
    names = [demo_entry(RESOURCES["江苏省公安厅"][0], f"南京市居住证签注信息{index}")
             for index in range(3)]
    for body in names:
        publish(nanjing, body)
    console.print(f"  {jiangsu.label} stopped; {len(names)} entries published in Nanjing "
                  "meanwhile; restarting it")
    restarted = time.monotonic()
    jiangsu.up()
    jiangsu.admin_token = _login(jiangsu)
    for body in names:
        found = wait_visible(national, body["name"], since=restarted)
        console.print(f"  {body['name']}: at 全国 {found['seconds']:.1f} s after the restart "
                      "began")
    console.rule("F2: a Nanjing department uses Jiangsu's data through both gateways")
    shared = share_across(nodes, people=200)
    remote = {"Authorization": f"Bearer {shared.remote_token}"}
    request = shared.request
    console.print(f"  request {request['id'][:8]} for {shared.code}, filed at 南京's gateway, "
                  f"kept by {request['node']}: {request['status']}")
    record = httpx.get(f"{nanjing.gateway}{REMOTE}/exchange/entries/{shared.code}/record",
                       params={"key": shared.key, "purpose": "data_verification"},
                       headers=remote, timeout=30).json()["record"]
    console.print(f"  online query → {record}")
    download = httpx.get(f"{nanjing.gateway}{REMOTE}/exchange/entries/{shared.code}/records",
                         params={"purpose": "data_verification", "format": "csv"},
                         headers=remote, timeout=60)
    console.print(f"  bulk download → {download.headers.get('x-record-count')} rows")
    for node in (jiangsu, nanjing):
        audited = httpx.get(f"{node.gateway}/api/exchange/audit", timeout=30, params={
            "entry_code": shared.code}, headers={"Authorization": f"Bearer {node.admin_token}"})
        console.print(f"  audit at {node.label}: {audited.json()['total']} accesses to "
                      f"{shared.code}")


def demo_entry(template: tuple[Any, ...], name: str | None = None, *,
               classified: bool = False) -> dict[str, Any]:
    """A Nanjing police entry from the demo province's templates, named for the demo."""
    body = entry_from_template(template, "南京市", "南京市公安局")
    body["name"] = f"{name or body['name']}(联邦演示 {uuid.uuid4().hex[:4]})"
    return {**body, "classified": classified}


def publish(node: DemoNode, body: dict[str, Any], *, token: str | None = None
            ) -> dict[str, Any]:
    """Catalogue and publish `body` as the node's editor (or the holder of `token`)."""
    auth = {"Authorization": f"Bearer {token or node.editor['token']}"}
    created = httpx.post(f"{node.gateway}/api/catalog/entries", json=body, headers=auth,
                         timeout=30)
    created.raise_for_status()
    code = created.json()["code"]
    published = httpx.post(f"{node.gateway}/api/catalog/entries/{code}/publish",
                           headers=auth, timeout=30)
    published.raise_for_status()
    return dict(published.json())


def search(node: DemoNode, name: str) -> dict[str, Any] | None:
    response = httpx.get(f"{node.gateway}/api/catalog/search", params={
        "q": name, "scope": "all"}, headers={"Authorization": f"Bearer {node.admin_token}"},
        timeout=30)
    response.raise_for_status()
    return next((item for item in response.json()["items"] if item["name"] == name), None)


def wait_visible(node: DemoNode, name: str, *, since: float | None = None,
                 timeout: float = 60, poll: float = 0.02) -> dict[str, Any]:
    """The entry as `node` shows it, and the seconds from `since` (default: now) until it
    did."""
    started = since if since is not None else time.monotonic()
    while time.monotonic() - started < timeout:
        found = search(node, name)
        if found:
            return {"item": found, "seconds": time.monotonic() - started}
        time.sleep(poll)
    raise TimeoutError(f"{name} did not reach {node.node_id} in {timeout:.0f} s")


def _login(node: DemoNode) -> str:
    response = httpx.post(f"{node.gateway}/auth/login", json={
        "username": "ops", "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def _department_editor(node: DemoNode) -> dict[str, str]:
    name = {"100000": "国家数据局", "320000": "江苏省公安厅", "320100": "南京市公安局"}[node.region]
    return department(node, name, ("catalog_editor",))


def department(node: DemoNode, name: str, roles: tuple[str, ...]) -> dict[str, str]:
    """Register `name` on the node (again is fine) and a system of it holding `roles`; its
    credit code and token. A catalog editor is returned once the catalog knows the
    department."""
    region = "110000" if node.region == "100000" else node.region
    auth = {"Authorization": f"Bearer {node.admin_token}"}
    code = credit_code_for(name)
    httpx.post(f"{node.gateway}/api/authorization/departments", headers=auth, timeout=30,
               json={"credit_code": code, "name": name, "tier": node.tier,
                     "region_code": region})
    client = httpx.post(f"{node.gateway}/api/authorization/clients", headers=auth, timeout=30,
                        json={"name": f"{name}业务系统", "department": code,
                              "roles": list(roles)}).json()
    token = str(httpx.post(f"{node.gateway}/oauth/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"])
    if "catalog_editor" in roles:
        probe = demo_entry(RESOURCES["江苏省公安厅"][0], f"{name}目录探针")
        until_ok(lambda: httpx.post(f"{node.gateway}/api/catalog/entries", json=probe,
                                    timeout=30, headers={"Authorization": f"Bearer {token}"}))
    return {"credit_code": code, "token": token}


def until_ok(call: Callable[[], httpx.Response], tries: int = 150) -> httpx.Response:
    """Call again while the answer is a 4xx of something not yet known here (an event on its
    way between services), up to `tries` times."""
    response = call()
    for _ in range(tries):
        if response.status_code < 400:
            return response
        time.sleep(0.2)
        response = call()
    raise RuntimeError(f"{response.request.url} answered {response.status_code}: "
                       f"{response.text[:300]}")


@dataclass(frozen=True)
class SharedAcross:
    """A Jiangsu entry granted to a Jiangsu department and to a Nanjing one (F2)."""

    code: str
    key: str
    request: dict[str, Any]
    local_token: str
    remote_token: str


REMOTE = "/nodes/320000-internal/api"


def share_across(nodes: list[DemoNode], people: int = 1000) -> SharedAcross:
    """Jiangsu's police publish their household register and load `people` residents; a
    Jiangsu and a Nanjing department apply (the Nanjing one through its own gateway)."""
    _, jiangsu, nanjing = nodes
    provider = department(jiangsu, "江苏省公安厅",
                          ("catalog_editor", "request_reviewer", "data_operator"))
    provider_auth = {"Authorization": f"Bearer {provider['token']}"}
    body = demo_entry(RESOURCES["江苏省公安厅"][0], "江苏省户籍人口基础信息")
    code = publish(jiangsu, body, token=provider["token"])["code"]
    csv = demo_people_csv(people)
    until_ok(lambda: httpx.post(f"{jiangsu.gateway}/api/exchange/entries/{code}/records",
                                content=csv, timeout=120,
                                headers={**provider_auth, "Content-Type": "text/csv"}))
    roles = ("request_reviewer", "data_operator")
    local = department(jiangsu, "江苏省人力资源和社会保障厅", roles)
    remote = department(nanjing, "南京市人力资源和社会保障局", roles)
    application = {"entry_code": code, "legal_basis": "《社会保险法》第五十八条",
                   "purpose": "data_verification", "items": ["GMSFHM", "XM", "CSRQ"],
                   "methods": ["online_query", "bulk_download"],
                   "valid_until": f"{time.gmtime().tm_year + 1}-12-31"}
    until_ok(lambda: httpx.post(f"{jiangsu.gateway}/api/authorization/requests", timeout=30,
                                json=application,
                                headers={"Authorization": f"Bearer {local['token']}"}))
    request = until_ok(lambda: httpx.post(
        f"{nanjing.gateway}{REMOTE}/authorization/requests", json=application, timeout=30,
        headers={"Authorization": f"Bearer {remote['token']}"})).json()
    key = csv.decode().splitlines()[1].split(",")[0]
    for gateway, path, token in ((jiangsu.gateway, "/api", local["token"]),
                                 (nanjing.gateway, REMOTE, remote["token"])):
        until_ok(lambda gateway=gateway, path=path, token=token: httpx.get(
            f"{gateway}{path}/exchange/entries/{code}/record", timeout=30,
            params={"key": key, "purpose": "data_verification"},
            headers={"Authorization": f"Bearer {token}"}))
    return SharedAcross(code=code, key=key, request=request, local_token=local["token"],
                        remote_token=remote["token"])

"""`govshare demo federation` (`make federation-demo`): one network of four nodes on one
machine.

National 100000 (external zone) ← Jiangsu 320000 (internal) ← {Nanjing 320100 (internal),
Suzhou 320500 (external)}: each a whole node started by `govshare up` with its own embedded
PostgreSQL, broker and ports, linked with `govshare node invite` / `govshare node link`. The
walk-through publishes in Nanjing and times the arrival at the national node (F1), shows
that an internal-only entry stops at Jiangsu (F3), takes Jiangsu down while Nanjing keeps
publishing (F4), finds the national and Suzhou catalogs in Nanjing's own search (F6), has a
Nanjing department request, query, download and subscribe to the national population entry
through three gateways with the path audited at the national end (F5), and hands Nanjing's
yearly report up to Jiangsu, which finds it late (F7).
"""

from __future__ import annotations

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
    parent: str | None
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
                    GOVSHARE_FEDERATION_PUSH_SECONDS="0.2",
                    GOVSHARE_NETWORK_EXCHANGE_SECONDS="1", COLUMNS="120", **self.extra_env)

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


NODES = (("全国 national", "national", "100000", "external", None),
         ("江苏 Jiangsu", "provincial", "320000", "internal", "100000"),
         ("南京 Nanjing", "municipal", "320100", "internal", "320000"),
         ("苏州 Suzhou", "municipal", "320500", "external", "320000"))
"""Label, tier, region, zone, and the region of the parent it links to."""


def network(workdir: Path, base_port: int = 18000, extra_env: dict[str, str] | None = None,
            regions: tuple[str, ...] | None = None) -> list[DemoNode]:
    """The nodes' homes and ports (gateways on base_port, +10, +20, +30), all four or those
    of `regions`, in the tree's order."""
    return [DemoNode(label=label, tier=tier, region=region, zone=zone, parent=parent,
                     home=workdir / region, gateway_port=base_port + 10 * index,
                     service_port_base=base_port + 100 * (index + 1),
                     broker_port=base_port + 1092 + index, extra_env=extra_env or {})
            for index, (label, tier, region, zone, parent) in enumerate(NODES)
            if regions is None or region in regions]


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
    by_region = {node.region: node for node in nodes}
    for child in nodes:
        if child.parent is None:
            continue
        parent = by_region[child.parent]
        invitation = parent.govshare("node", "invite", "--child", child.node_id)
        code = invitation.split("--invitation", 1)[1].split()[0]
        child.govshare("node", "link", "--parent", parent.gateway, "--invitation", code,
                       "--public-url", child.gateway)
        say(f"[green]✓[/] {child.node_id} linked to its parent {parent.node_id}")
    for node in nodes:
        node.editor = _department_editor(node)


def walk_through(nodes: list[DemoNode], console: Console) -> None:
    national, jiangsu, nanjing, suzhou = nodes
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

    console.rule("F3: an internal-only (涉密) entry stays in the internal zone")
    secret = demo_entry(RESOURCES["江苏省公安厅"][0], "南京市涉密载体管理信息", classified=True)
    after = demo_entry(RESOURCES["江苏省公安厅"][0], "南京市社区服务设施信息")
    publish(nanjing, secret)
    publish(nanjing, after)
    for node in (national, suzhou):
        wait_visible(node, after["name"])
    wait_visible(jiangsu, secret["name"])
    crossed = any(search(node, secret["name"]) for node in (national, suzhou))
    console.print(f"  {secret['name']}: at 江苏 (internal) present; at 全国 and 苏州 (external) "
                  f"{'PRESENT' if crossed else 'absent'}, though {after['name']}, published "
                  "after it, arrived at both")

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

    console.rule("F6: the national and Suzhou catalogs come down into Nanjing's own search")
    shared = share_across(national, nanjing, conditional=True, people=200)
    sibling = demo_entry(RESOURCES["江苏省公安厅"][1], "苏州市居民身份证制证信息")
    publish(suzhou, sibling)
    for name in (shared.name, sibling["name"]):
        found = wait_visible(nanjing, name)
        console.print(f"  in 南京's own search: {name}, from {found['item']['node']} by "
                      f"{' → '.join(found['item']['aggregated_via'])}")

    console.rule("F5: a Nanjing department uses national data through three gateways")
    remote = {"Authorization": f"Bearer {shared.remote_token}"}
    entry = f"{nanjing.gateway}{shared.remote}/exchange/entries/{shared.code}"
    console.print(f"  request {shared.request['id'][:8]} for {shared.code}, filed at 南京's "
                  f"gateway, kept and answered by {shared.request['node']} on its own clock")
    record = httpx.get(f"{entry}/record", params={
        "key": shared.key, "purpose": "data_verification"}, headers=remote, timeout=30)
    console.print(f"  online query → {record.json()['record']}")
    download = httpx.get(f"{entry}/records", params={"purpose": "data_verification",
                                                     "format": "csv"},
                         headers=remote, timeout=60)
    console.print(f"  bulk download → {download.headers.get('x-record-count')} rows")
    subscribed = httpx.post(f"{nanjing.gateway}{shared.remote}/exchange/subscriptions",
                            headers=remote, timeout=30, json={
                                "entry_code": shared.code, "purpose": "data_verification",
                                "delivery": "kafka", "from_beginning": True}).json()
    delivered = until_ok(lambda: _delivered(nanjing, shared, subscribed["id"]))
    console.print(f"  subscription → {delivered.json()['delivered']} changes on 南京's own "
                  f"broker, topic {subscribed['topic']}")
    audited = httpx.get(f"{national.gateway}/api/exchange/audit", timeout=30, params={
        "entry_code": shared.code}, headers={"Authorization": f"Bearer {national.admin_token}"})
    for item in [item for item in audited.json()["items"] if item["route"]][:3]:
        console.print(f"  audit at 全国: {item['kind']} by {item['actor']} via "
                      f"{' → '.join(item['route'] or [])}")
    refused = httpx.get(f"{national.gateway}/nodes/{nanjing.node_id}/api/catalog/search",
                        params={"q": "人口"}, timeout=30,
                        headers={"Authorization": f"Bearer {national.editor['token']}"})
    console.print(f"  a national department calling 南京 → {refused.status_code} "
                  f"{refused.json().get('reason')}, refused by {refused.json().get('node')}")

    console.rule("F7: Nanjing hands its 2025 report up to Jiangsu, a year late")
    receipt = httpx.post(f"{nanjing.gateway}/api/evaluation/report-submissions",
                         json={"period": "2025"}, timeout=120,
                         headers={"Authorization": f"Bearer {nanjing.admin_token}"}).json()
    console.print(f"  at 江苏: {receipt['kind']} report of {receipt['child']} for "
                  f"{receipt['period']}, due {receipt['due_on']}, received "
                  f"{receipt['received_at'][:19]}: {'on time' if receipt['on_time'] else 'LATE'}")


def _delivered(nanjing: DemoNode, shared: SharedAcross,
               subscription_id: str) -> httpx.Response:
    """The subscription as Nanjing's department sees it, once its changes were delivered."""
    response = httpx.get(f"{nanjing.gateway}{shared.remote}/exchange/subscriptions/"
                         f"{subscription_id}", timeout=30,
                         headers={"Authorization": f"Bearer {shared.remote_token}"})
    if response.status_code == 200 and not response.json()["delivered"]:
        return httpx.Response(425, request=response.request)  # not yet: ask again
    return response


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
    name = {"100000": "国家数据局", "320000": "江苏省公安厅", "320100": "南京市公安局",
            "320500": "苏州市公安局"}[node.region]
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
    """A provider node's entry granted to a department of its own and to one of another
    node (F2, F5)."""

    code: str
    name: str
    key: str
    request: dict[str, Any]
    remote: str
    local_token: str
    remote_token: str


PROVIDERS = {"100000": ("公安部", "全国", "公安部人口管理局"),
             "320000": ("江苏省公安厅", "江苏省", "江苏省公安厅")}
"""Who provides the shared population entry on a node: department, place, its name."""


def share_across(provider_node: DemoNode, consumer_node: DemoNode, *,
                 conditional: bool = False, people: int = 1000) -> SharedAcross:
    """The provider node's police publish their population register and load `people`
    residents; a department of that node and one of the consumer node apply (the latter
    through its own gateway); a conditional request is approved by the provider."""
    police, place, short = PROVIDERS[provider_node.region]
    provider = department(provider_node, police,
                          ("catalog_editor", "request_reviewer", "data_operator"))
    provider_auth = {"Authorization": f"Bearer {provider['token']}"}
    body = entry_from_template(RESOURCES["江苏省公安厅"][0], place, short)
    body["name"] = f"{place}人口基础信息(联邦演示 {uuid.uuid4().hex[:4]})"
    body["share"]["methods"] = ["online_query", "bulk_download", "system_integration"]
    if conditional:  # a theme resource then (C3: a base one is shared unconditionally)
        body["classification"] = {"top": "theme", "item": "01", "category": "001"}
        body["share"] |= {"type": "conditional", "conditions": "仅限核验办事人身份",
                          "permitted_uses": ["data_verification"]}
        body["items"] = [{**item, "is_base_item": False, "share_type": "conditional"}
                         for item in body["items"]]
    code = publish(provider_node, body, token=provider["token"])["code"]
    csv = demo_people_csv(people)
    until_ok(lambda: httpx.post(f"{provider_node.gateway}/api/exchange/entries/{code}/records",
                                content=csv, timeout=120,
                                headers={**provider_auth, "Content-Type": "text/csv"}))
    roles = ("request_reviewer", "data_operator")
    local = department(provider_node, f"{place}人力资源和社会保障部门", roles)
    remote_department = department(consumer_node, "南京市人力资源和社会保障局", roles)
    remote = f"/nodes/{provider_node.node_id}/api"
    application = {"entry_code": code, "legal_basis": "《社会保险法》第五十八条",
                   "purpose": "data_verification", "items": ["GMSFHM", "XM", "CSRQ"],
                   "methods": ["online_query", "bulk_download", "system_integration"],
                   "valid_until": f"{time.gmtime().tm_year + 1}-12-31"}
    requests = []
    for gateway, path, token in ((provider_node.gateway, "/api", local["token"]),
                                 (consumer_node.gateway, remote, remote_department["token"])):
        requests.append(until_ok(lambda gateway=gateway, path=path, token=token: httpx.post(
            f"{gateway}{path}/authorization/requests", json=application, timeout=30,
            headers={"Authorization": f"Bearer {token}"})).json())
        if conditional:
            httpx.post(f"{provider_node.gateway}/api/authorization/requests/"
                       f"{requests[-1]['id']}/answer", json={"approve": True}, timeout=30,
                       headers=provider_auth).raise_for_status()
    key = csv.decode().splitlines()[1].split(",")[0]
    for gateway, path, token in ((provider_node.gateway, "/api", local["token"]),
                                 (consumer_node.gateway, remote, remote_department["token"])):
        until_ok(lambda gateway=gateway, path=path, token=token: httpx.get(
            f"{gateway}{path}/exchange/entries/{code}/record", timeout=30,
            params={"key": key, "purpose": "data_verification"},
            headers={"Authorization": f"Bearer {token}"}))
    return SharedAcross(code=code, name=body["name"], key=key, request=requests[-1],
                        remote=remote, local_token=local["token"],
                        remote_token=remote_department["token"])

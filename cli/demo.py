"""`govshare demo seed`: fill a running node with a believable province, through its API.

Departments, their catalog editors' credentials, the collection-responsibility register and
500-odd published entries are created exactly as departments would create them, so every
rule and event applies. Running it twice changes nothing (names and codes are stable).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.progress import Progress
from stdnum.cn import uscc

from cli.database import identity_session
from cli.demo_data import CITIES, DEPARTMENTS, GENERIC, RESOURCES
from cli.settings import CliSettings
from services.authorization import directory
from services.authorization.schemas import UserCreate
from shared.contracts import Role

PROVINCE = "320000"
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class SeedReport:
    departments: int = 0
    entries: int = 0
    skipped: int = 0


def credit_code_for(name: str) -> str:
    """A stable, valid credit code of a government body in Jiangsu for a department name."""
    digest = hashlib.sha256(name.encode()).digest()
    body = "11" + PROVINCE + "".join(_CODE_CHARS[b % len(_CODE_CHARS)] for b in digest[:9])
    return body + uscc.calc_check_digit(body)


def planned_entries() -> list[tuple[str, dict[str, Any]]]:
    """(department, entry body) for every resource the demo province catalogues."""
    planned = []
    for department, templates in RESOURCES.items():
        for city in CITIES:
            planned += [(department, _entry(t, city, department)) for t in templates]
    for department in DEPARTMENTS:
        for city in CITIES[:4]:
            planned += [(department, _entry(t, city, department)) for t in GENERIC]
    return planned


def _entry(template: tuple[Any, ...], city: str, department: str) -> dict[str, Any]:
    name, classification, items, share_type, methods, cycle = template
    short = department.removeprefix("江苏省").removeprefix("国家税务总局")
    share: dict[str, Any] = {"type": share_type, "channel": "platform", "methods": methods}
    if share_type == "conditional":
        share |= {"conditions": "仅限履行法定职责所需, 按申请事项使用",
                  "permitted_uses": ["administrative_basis", "data_verification"]}
    return {
        "classification": classification,
        "name": name.format(city=city, department=short),
        "abstract": f"{city}{short}依法履职中产生的{name.format(city='', department='')}"
                    "，按更新周期汇聚至省级平台。",
        "format": {"kind": "database", "sub_format": "table"},
        "items": items, "share": share, "update_cycle": cycle,
        "open": {"is_open": share_type == "unconditional" and "统计" in name},
    }


async def seed(settings: CliSettings, database_url: str, gateway_url: str) -> SeedReport:
    """Create the demo province on the node behind `gateway_url`."""
    report = SeedReport()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        admin = await _admin_token(settings, database_url, http)
        editors = {}
        for name in DEPARTMENTS:
            editors[name], created = await _department_editor(http, admin, name)
            report.departments += created
        await _register_responsibilities(http, admin)
        planned = planned_entries()
        limit = asyncio.Semaphore(8)
        with Progress() as progress:
            task = progress.add_task("cataloguing", total=len(planned))

            async def one(department: str, body: dict[str, Any]) -> None:
                async with limit:
                    created = await _publish(http, editors[department], body)
                report.entries += created
                report.skipped += not created
                progress.advance(task)

            await asyncio.gather(*(one(d, b) for d, b in planned))
    return report


async def _admin_token(settings: CliSettings, database_url: str,
                       http: httpx.AsyncClient) -> str:
    username, password = f"demo-seed-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    async with identity_session(settings, database_url) as (session, outbox):
        await directory.add_user(session, outbox, UserCreate(
            username=username, display_name="演示数据导入", roles=[Role.node_admin],
            password=password))
    response = await http.post("/auth/login", json={"username": username, "password": password})
    response.raise_for_status()
    return response.json()["access_token"]


async def _department_editor(http: httpx.AsyncClient, admin: str,
                             name: str) -> tuple[str, bool]:
    auth = {"Authorization": f"Bearer {admin}"}
    code = credit_code_for(name)
    registered = await http.post("/api/authorization/departments", headers=auth, json={
        "credit_code": code, "name": name, "tier": "provincial", "region_code": PROVINCE})
    if registered.status_code not in (201, 409):
        registered.raise_for_status()
    client = (await http.post("/api/authorization/clients", headers=auth, json={
        "name": f"{name}目录编制系统", "department": code, "roles": ["catalog_editor"]})).json()
    token = (await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]})).json()["access_token"]
    return token, registered.status_code == 201


async def _register_responsibilities(http: httpx.AsyncClient, admin: str) -> None:
    owners = {"GMSFHM": ("公民身份号码", "江苏省公安厅"), "XM": ("姓名", "江苏省公安厅"),
              "TYSHXYDM": ("统一社会信用代码", "江苏省市场监督管理局"),
              "DWMC": ("单位名称", "江苏省市场监督管理局")}
    for code, (item_name, department) in owners.items():
        response = await _once_department_known(lambda code=code, item_name=item_name,
                                                department=department: http.put(
            f"/api/catalog/responsibilities/{code}",
            headers={"Authorization": f"Bearer {admin}"},
            json={"item_name": item_name, "department": credit_code_for(department)}))
        response.raise_for_status()


async def _once_department_known(
    send: Callable[[], Awaitable[httpx.Response]],
) -> httpx.Response:
    """Send, again while the catalog has not yet heard of a just-registered department."""
    for _ in range(100):
        response = await send()
        if response.status_code != 422 or "unknown-provider" not in response.text:
            return response
        await asyncio.sleep(0.3)  # the identity event is still on its way
    return response


async def _publish(http: httpx.AsyncClient, token: str, body: dict[str, Any]) -> bool:
    auth = {"Authorization": f"Bearer {token}"}
    created = await _once_department_known(
        lambda: http.post("/api/catalog/entries", headers=auth, json=body))
    if created.status_code == 409:
        return False
    created.raise_for_status()
    published = await http.post(f"/api/catalog/entries/{created.json()['code']}/publish",
                                headers=auth)
    published.raise_for_status()
    return True

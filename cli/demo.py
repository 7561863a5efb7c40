"""`govshare demo seed`: fill a running node with a believable province, through its API.

Departments, their catalog editors' credentials, the collection-responsibility register, the
lead departments of the base resources and 500-odd published entries are created exactly as
departments would create them, so every rule and event applies. Running it twice changes
nothing (names and codes are stable).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from jose import jwt
from rich.progress import Progress
from stdnum.cn import uscc

from cli.database import identity_session
from cli.demo_data import (
    CITIES,
    DEPARTMENTS,
    GENERIC,
    RESOURCE_OWNERS,
    RESOURCES,
    SHARING_STORY,
    demo_people_csv,
    demo_request,
)
from cli.settings import CliSettings
from services.authorization import directory
from services.authorization.schemas import UserCreate
from shared.contracts import Role

PROVINCE = "320000"
DEMO_ROLES = ("catalog_editor", "request_reviewer", "data_operator")
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class SeedReport:
    departments: int = 0
    entries: int = 0
    skipped: int = 0
    requests: int = 0
    records: int = 0
    queries: int = 0
    systems: int = 0


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
            planned += [(department, entry_from_template(t, city, department)) for t in templates]
    for department in DEPARTMENTS:
        for city in CITIES[:4]:
            planned += [(department, entry_from_template(t, city, department)) for t in GENERIC]
    return planned


def entry_from_template(template: tuple[Any, ...], city: str, department: str) -> dict[str, Any]:
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
        await _appoint_leads(http, admin)
        planned = planned_entries()
        limit = asyncio.Semaphore(8)
        with Progress() as progress:
            task = progress.add_task("cataloguing", total=len(planned))

            async def one(department: str, body: dict[str, Any]) -> None:
                async with limit:
                    code = await _publish(http, editors[department], body)
                if code:
                    codes[body["name"]] = code
                report.entries += code is not None
                report.skipped += code is None
                progress.advance(task)

            codes: dict[str, str] = {}
            await asyncio.gather(*(one(d, b) for d, b in planned))
        if codes:  # a first run: show the sharing workflow, the data path, the evaluation
            report.records, report.requests = await _share(http, editors, codes)
            report.queries, report.systems = await _use_and_file(http, editors, codes)
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
        "name": f"{name}政务数据系统", "department": code, "roles": list(DEMO_ROLES)})).json()
    token = (await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]})).json()["access_token"]
    return token, registered.status_code == 201


async def _register_responsibilities(http: httpx.AsyncClient, admin: str) -> None:
    owners = {"GMSFHM": ("公民身份号码", "江苏省公安厅"), "XM": ("姓名", "江苏省公安厅"),
              "TYSHXYDM": ("统一社会信用代码", "江苏省市场监督管理局")}
    for code, (item_name, department) in owners.items():
        response = await _once_department_known(lambda code=code, item_name=item_name,
                                                department=department: http.put(
            f"/api/catalog/responsibilities/{code}",
            headers={"Authorization": f"Bearer {admin}"},
            json={"item_name": item_name, "department": credit_code_for(department)}))
        response.raise_for_status()


# The departments that lead the base resources [JS §11(二)] and keep their base items (C3).
LEADS = {"01": "江苏省公安厅", "02": "江苏省市场监督管理局", "03": "江苏省自然资源厅",
         "04": "江苏省信用办公室", "05": "江苏省政务服务管理办公室"}


async def _appoint_leads(http: httpx.AsyncClient, admin: str) -> None:
    for subject, department in LEADS.items():
        lead = {"department": credit_code_for(department)}
        response = await _once_department_known(lambda subject=subject, lead=lead: http.put(
            f"/api/catalog/base-subjects/{subject}/lead",
            headers={"Authorization": f"Bearer {admin}"}, json=lead))
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


async def _publish(http: httpx.AsyncClient, token: str, body: dict[str, Any]) -> str | None:
    """Catalogue and publish; the code, or None if the entry was already there."""
    auth = {"Authorization": f"Bearer {token}"}
    created = await _once_department_known(
        lambda: http.post("/api/catalog/entries", headers=auth, json=body))
    if created.status_code == 409:
        return None
    created.raise_for_status()
    code = str(created.json()["code"])
    published = await http.post(f"/api/catalog/entries/{code}/publish", headers=auth)
    published.raise_for_status()
    return code


async def _share(http: httpx.AsyncClient, editors: dict[str, str],
                 codes: dict[str, str]) -> tuple[int, int]:
    """Load people into Nanjing's household register and file the requests a reviewer
    would see: granted at once, approved narrowed, refused with a reason, still pending."""
    population = codes["南京市户籍人口基础信息"]
    loaded = await _until_known(lambda: http.post(
        f"/api/exchange/entries/{population}/records", content=demo_people_csv(200),
        headers={**_auth(editors["江苏省公安厅"]), "Content-Type": "text/csv"}))
    loaded.raise_for_status()
    filed = 0
    for consumer, entry, items, answer in SHARING_STORY:
        response = await _until_known(lambda consumer=consumer, entry=entry, items=items:
                                      http.post("/api/authorization/requests",
                                                headers=_auth(editors[consumer]),
                                                json=demo_request(codes[entry], items)))
        response.raise_for_status()
        filed += 1
        if answer is not None:
            provider = RESOURCE_OWNERS[entry]
            answered = await http.post(
                f"/api/authorization/requests/{response.json()['id']}/answer",
                headers=_auth(editors[provider]), json=answer)
            answered.raise_for_status()
    return int(loaded.json()["accepted"]), filed


async def _use_and_file(http: httpx.AsyncClient, editors: dict[str, str],
                        codes: dict[str, str]) -> tuple[int, int]:
    """The granted department queries residents, and two systems are filed (备案): the
    household register, in use, and an old housing-fund system nobody calls, a zombie."""
    population = codes["南京市户籍人口基础信息"]
    consumer = _auth(editors["江苏省人力资源和社会保障厅"])
    keys = [line.split(",")[0] for line in demo_people_csv(20).decode().splitlines()[1:]]
    for key in keys:
        await _until_known(lambda key=key: http.get(
            f"/api/exchange/entries/{population}/record", headers=consumer,
            params={"key": key, "purpose": "data_verification"}), ("no_grant",))
    police = editors["江苏省公安厅"]
    filings = [(police, {"name": "江苏省人口基础信息库", "resource_codes": [population],
                         "client_ids": [jwt.get_unverified_claims(police)["sub"]],
                         "construction_funding": "12000000", "annual_om_funding": "1500000"}),
               (editors["江苏省住房公积金管理中心"], {
                   "name": "住房公积金旧版业务系统", "resource_codes": [],
                   "client_ids": [], "construction_funding": "3000000",
                   "annual_om_funding": "450000"})]
    for token, filing in filings:
        filed = await _until_known(lambda token=token, filing=filing: http.post(
            "/api/evaluation/systems", headers=_auth(token), json={
                "description": "演示备案", "funding_source": "local_budget", **filing}),
            ("registry-violation",))
        if filed.status_code != 409:  # filed by an earlier run
            filed.raise_for_status()
    return len(keys), len(filings)


async def _until_known(send: Callable[[], Awaitable[httpx.Response]],
                       waiting: tuple[str, ...] = ()) -> httpx.Response:
    """Send, again while a service has not yet heard of what was just published (its event
    is on the way): an entry, a grant (`waiting`), a department's entries and clients."""
    for _ in range(150):
        response = await send()
        if response.status_code not in (403, 404, 422) or not any(
                slug in response.text for slug in ("entry-unknown", "resource-unknown",
                                                   *waiting)):
            return response
        await asyncio.sleep(0.2)
    return response


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

"""The oversight roles' evaluation pages and the node admin's settings, in a real browser
(headless Chromium) as a clerk uses them: each department's indicators for a period, the
zombie systems, the departments without funding and why; the linked nodes and an
invitation, the scoring method, a year's holiday schedule, a department renamed and a
client's networks; each refusal told at its input, each page fitting a laptop and a phone,
and the 403 page for a person without the role."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from shared.workdays import china_date
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import ENTRIES, Party, bearer, conditional_entry
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_oversight import auditor_user
from tests.integration.portal_people import staff_user
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration

EVALUATION = "/api/evaluation"
YEAR = str(china_date(datetime.now(UTC)).year)
# A year no other test counts deadlines in: loading its schedule changes nobody's due date.
SCHEDULE_YEAR = 2093


async def until(call: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """`call` again until its answer is `done` (an event reaching the evaluation)."""
    async with asyncio.timeout(30):
        while True:
            answer = await call()
            if done(answer):
                return answer
            await asyncio.sleep(0.2)


async def a_zombie_system_and_a_database_without_catalog(
        gateway: httpx.AsyncClient, admin_token: str, party: Party) -> str:
    """`party` files a system nobody uses and registers a database behind a draft only: a
    zombie, and no funding (51 §21). Waits until the evaluation knows both."""
    auth = bearer(party["token"])
    filed = await gateway.post(f"{EVALUATION}/systems", headers=auth, json={
        "name": "婚姻登记管理系统", "description": "婚姻登记业务办理和档案管理",
        "funding_source": "local_budget", "construction_funding": "1200000.00",
        "annual_om_funding": "180000.00"})
    assert filed.status_code == 201, filed.text
    draft = await gateway.post(ENTRIES, headers=auth, json=conditional_entry())
    assert draft.status_code == 201, draft.text
    registered = await gateway.post("/api/catalog/databases", headers=auth, json={
        "name": "婚姻登记库", "dbms": "PostgreSQL 16", "description": "婚姻登记主库",
        "resource_codes": [draft.json()["code"]]})
    assert registered.status_code == 201, registered.text

    def lapsed(response: httpx.Response) -> bool:
        return any(item["department"] == party["credit_code"]
                   and any("婚姻登记库" in reason for reason in item["reasons"])
                   for item in response.json())

    await until(lambda: gateway.get(f"{EVALUATION}/funding-eligibility", params={
        "year": YEAR}, headers=bearer(admin_token)), lapsed)
    return str(draft.json()["code"])


async def test_an_auditor_reads_a_departments_indicators_and_a_bad_period_is_told_at_it(
        page: Page, node: RunningNode, infrastructure: Infrastructure,
        gateway: httpx.AsyncClient, admin_token: str, provider: Party) -> None:
    await until(lambda: gateway.get(f"{EVALUATION}/indicators", headers=bearer(admin_token),
                                    params={"period": YEAR,
                                            "department": provider["credit_code"]}),
                lambda response: response.json()["total"] == 1)
    auditor = await auditor_user(infrastructure)
    await sign_in_with_the_form(page, node.gateway_url, auditor)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="考核评估").click()
    await page.get_by_role("navigation", name="考核评估").get_by_role(
        "link", name="考核指标").click()
    await page.get_by_label("考核期").fill("2026-Q5")
    await page.get_by_label("部门（统一社会信用代码，可选）").fill(provider["credit_code"])
    await page.get_by_role("button", name="查看").click()
    await expect(page.get_by_label("考核期")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-period")).to_have_text("格式不正确。")

    await page.get_by_label("考核期").fill(YEAR)
    await page.get_by_role("button", name="查看").click()
    row = page.get_by_role("row").filter(has_text=provider["name"])
    await expect(row.get_by_role("cell").nth(1)).to_contain_text("已发布条目 0 条")
    await expect(row).to_contain_text("应答复 0 件")
    await expect(page.get_by_role("navigation", name="考核评估").get_by_role(
        "link", name="考核指标")).to_have_attribute("aria-current", "page")


async def test_an_auditor_finds_a_zombie_system_and_why_a_department_has_no_funding(
        page: Page, node: RunningNode, infrastructure: Infrastructure,
        gateway: httpx.AsyncClient, admin_token: str, provider: Party) -> None:
    draft = await a_zombie_system_and_a_database_without_catalog(gateway, admin_token,
                                                                 provider)
    auditor = await auditor_user(infrastructure)
    await sign_in_with_the_form(page, node.gateway_url, auditor)
    await page.goto(f"{node.gateway_url}/evaluation")
    tabs = page.get_by_role("navigation", name="考核评估")
    await tabs.get_by_role("link", name="僵尸系统").click()
    await page.get_by_label("部门（统一社会信用代码，可选）").fill(provider["credit_code"])
    await page.get_by_role("button", name="查看").click()
    system = page.get_by_role("row").filter(has_text="婚姻登记管理系统")
    await expect(system).to_contain_text("僵尸系统")
    await expect(system).to_contain_text("年运维 180,000.00 元")
    await expect(system).to_contain_text("0 次")

    await tabs.get_by_role("link", name="经费资格").click()
    await page.get_by_label("部门名称（可选）").fill(provider["name"])
    await page.get_by_role("button", name="查看").click()
    reasons = page.get_by_role("row").filter(has_text=provider["name"])
    await expect(reasons).to_contain_text(
        f"数据库“婚姻登记库”未支撑共享目录中任何已发布的条目（{draft}）")
    await expect(reasons).not_to_contain_text("database")


async def test_a_node_admin_changes_the_scoring_method_a_weight_too_large_told_at_it(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str) -> None:
    in_force = (await gateway.get(f"{EVALUATION}/scoring-method",
                                  headers=bearer(admin_token))).json()
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    await sign_in_with_the_form(page, node.gateway_url, admin)
    try:
        await page.get_by_role("navigation", name="主导航").get_by_role(
            "link", name="系统管理").click()
        await page.get_by_role("link", name="考核办法").click()
        await page.get_by_label("目录编制权重").fill("150")
        await page.get_by_role("button", name="保存考核办法").click()
        await expect(page.get_by_label("目录编制权重")).to_have_attribute(
            "aria-invalid", "true")
        await expect(page.locator('[id="e-indicators.catalog.weight"]')).to_have_text(
            "数值大于允许的最大值。")
        await expect(page.get_by_label("僵尸系统使用次数上限")).to_have_value(
            str(in_force["method"]["zombie_max_uses"]))  # the rest as typed, not lost

        await page.get_by_label("目录编制权重").fill("20")
        await page.get_by_label("僵尸系统使用次数上限").fill("5")
        await page.get_by_role("button", name="保存考核办法").click()
        await expect(page.get_by_role("status")).to_contain_text("已保存")
        await expect(page.get_by_label("僵尸系统使用次数上限")).to_have_value("5")
        await expect(page.locator("main")).to_contain_text(
            f"第 {(in_force['version'] or 0) + 1} 版")
    finally:  # the shared node's other tests score with the method they found
        restored = await gateway.put(f"{EVALUATION}/scoring-method", json=in_force["method"],
                                     headers=bearer(admin_token))
        assert restored.status_code == 200, restored.text


async def test_a_node_admin_loads_a_years_holiday_schedule_a_bad_date_told_at_it(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str) -> None:
    october = [date(SCHEDULE_YEAR, 10, 1) + timedelta(days=n) for n in range(10)]
    holidays = [day for day in october if day.weekday() < 5][:3]
    weekend = next(day for day in october if day.weekday() == 5)
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    await sign_in_with_the_form(page, node.gateway_url, admin)
    await page.goto(f"{node.gateway_url}/admin")
    await page.get_by_role("link", name="节假日安排").click()
    await page.get_by_role("spinbutton", name="年度", exact=True).fill(str(SCHEDULE_YEAR))
    await page.get_by_label("放假的工作日").fill(f"{holidays[0]} {SCHEDULE_YEAR}年10月2日")
    await page.get_by_role("button", name="载入").click()
    await expect(page.get_by_label("放假的工作日")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-holidays")).to_be_visible()

    await page.get_by_label("放假的工作日").fill(" ".join(map(str, holidays)))
    await page.get_by_label("调休上班的周末").fill(str(weekend))
    await page.get_by_role("button", name="载入").click()
    await expect(page.get_by_role("status")).to_contain_text(f"已载入 {SCHEDULE_YEAR} 年")
    year = page.get_by_role("row").filter(has_text=f"{SCHEDULE_YEAR} 年日历")
    await expect(year).to_contain_text("已载入的国务院节假日安排")
    await expect(year).to_contain_text("3 天")
    await expect(page.locator("main")).to_contain_text(
        f"{weekend.year}年{weekend.month}月{weekend.day}日")


async def test_a_node_admin_renames_a_department_and_restricts_its_systems_networks(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    await sign_in_with_the_form(page, node.gateway_url, admin)
    await page.goto(f"{node.gateway_url}/admin/departments?q={provider['name']}")
    await page.get_by_role("link", name=f"修改{provider['name']}").click()
    renamed = f"{provider['name']}（数据局）"
    await page.get_by_label("部门名称").fill(renamed)
    await page.get_by_label("行政区划代码（六位）").fill("32010")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_label("行政区划代码（六位）")).to_have_attribute(
        "aria-invalid", "true")
    await expect(page.get_by_label("部门名称")).to_have_value(renamed)
    await page.get_by_label("行政区划代码（六位）").fill("320102")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(renamed)
    await expect(page.locator("main")).to_contain_text("320102")

    await page.get_by_role("link", name="接入凭证", exact=True).click()
    row = page.get_by_role("row").filter(has_text="目录编制系统")
    await row.get_by_text("允许的网络", exact=True).click()
    await row.get_by_label("允许获取令牌的网络").fill("10.20.0.0/33")
    await row.get_by_role("button", name="保存网络").click()
    row = page.get_by_role("row").filter(has_text="目录编制系统")
    await expect(row.get_by_label("允许获取令牌的网络")).to_have_attribute(
        "aria-invalid", "true")
    await expect(row.locator(".field-error")).to_have_text("请填写网络地址，如 10.20.0.0/16。")
    await row.get_by_label("允许获取令牌的网络").fill("10.20.0.0/16")
    await row.get_by_role("button", name="保存网络").click()
    await expect(page.get_by_role("row").filter(has_text="目录编制系统")).to_contain_text(
        "允许的网络：10.20.0.0/16")


async def test_a_node_admin_sees_no_linked_node_yet_and_invites_a_child(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str) -> None:
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    await sign_in_with_the_form(page, node.gateway_url, admin)
    await page.goto(f"{node.gateway_url}/admin")
    await page.get_by_role("link", name="节点与级联").click()
    await expect(page.locator("main")).to_contain_text("南京市政务数据共享交换平台")
    await expect(page.locator("main")).to_contain_text("本节点尚未与上级或下级节点连接")
    await expect(page.locator("main")).to_contain_text("没有版本冲突")
    await page.get_by_label("下级节点标识").fill("320115-外网")
    await page.get_by_role("button", name="生成邀请码").click()
    await expect(page.get_by_label("下级节点标识")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-child_node_id")).to_have_text("格式不正确。")

    await page.get_by_label("下级节点标识").fill("320115-external")
    async with page.expect_response(lambda answer: answer.request.method == "POST") as sent:
        await page.get_by_role("button", name="生成邀请码").click()
    assert (await sent.value).headers.get("cache-control") == "no-store"
    code = (await page.locator("#invitation-code").inner_text()).strip()
    assert len(code) >= 16
    await page.goto(f"{node.gateway_url}/admin/federation")
    await expect(page.locator("main")).not_to_contain_text(code)


async def test_a_person_without_the_role_gets_the_403_page_and_sees_only_their_tabs(
        page: Page, node: RunningNode, infrastructure: Infrastructure,
        gateway: httpx.AsyncClient, admin_token: str, provider: Party) -> None:
    reviewer = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, reviewer)
    await page.goto(f"{node.gateway_url}/evaluation")
    await expect(page.get_by_role("navigation", name="考核评估").get_by_role(
        "link")).to_have_text(["得分与排名", "整改清单"])
    for path, role in (("/evaluation/indicators", "审计管理员"),
                       ("/evaluation/systems", "审计管理员"),
                       ("/evaluation/funding", "仲裁人员"),
                       ("/admin/federation", "系统管理员"),
                       ("/admin/scoring-method", "系统管理员"),
                       ("/admin/calendar", "系统管理员"),
                       (f"/admin/departments/{provider['credit_code']}", "系统管理员")):
        answer = await page.goto(f"{node.gateway_url}{path}")
        assert answer is not None and answer.status == 403, path
        await expect(page.get_by_role("heading", level=1)).to_have_text("无权访问此页面")
        await expect(page.locator("main")).to_contain_text(role)

    auditor = await auditor_user(infrastructure)
    await page.context.clear_cookies()
    await sign_in_with_the_form(page, node.gateway_url, auditor)
    answer = await page.goto(f"{node.gateway_url}/admin/scoring-method")
    assert answer is not None and answer.status == 403


async def test_the_oversight_and_settings_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, infrastructure: Infrastructure,
        gateway: httpx.AsyncClient, admin_token: str, provider: Party,
        tmp_path: Path) -> None:
    await a_zombie_system_and_a_database_without_catalog(gateway, admin_token, provider)
    auditor = await auditor_user(infrastructure)
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    code = provider["credit_code"]
    pages = {auditor: {"indicators": f"/evaluation/indicators?department={code}",
                       "indicators-all": "/evaluation/indicators",
                       "zombies": f"/evaluation/systems?shown=all&department={code}",
                       "funding": f"/evaluation/funding?q={provider['name']}"},
             admin: {"federation": "/admin/federation", "method": "/admin/scoring-method",
                     "calendar": "/admin/calendar", "department": f"/admin/departments/{code}",
                     "clients": f"/admin/clients?department={code}"}}
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        for person, paths in pages.items():
            context = await chromium.new_context(viewport=viewport, locale="zh-CN")
            page = await context.new_page()
            await sign_in_with_the_form(page, node.gateway_url, person)
            for name, path in paths.items():
                await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
            await context.close()

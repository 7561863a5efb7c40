"""The node admin in a real browser (headless Chromium): a system's credentials made with
their secret shown once (and working), a role beyond the admin's duty refused at the roles;
and every role's pages refused with the 403 page to a person without the role."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import RunningNode
from tests.integration.conftest import Party
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration

# Each role's pages (the API is never asked: the role is missing before it would be).
ROLE_PAGES = {
    "request_reviewer": ["/requests", "/catalog/entries/101001/000001/request",
                         "/agreements", "/agreements/00000000-0000-0000-0000-000000000000"],
    "catalog_editor": ["/catalog/own", "/catalog/new", "/catalog/triggers",
                       "/catalog/entries/101001/000001/edit"],
    "arbiter": ["/arbitration", "/arbitration/00000000-0000-0000-0000-000000000000"],
    "auditor": ["/audit", "/audit/verification", "/evaluation/reports/2026"],
    "node_admin": ["/admin", "/admin/departments", "/admin/clients", "/admin/users"],
}


async def test_a_person_without_the_role_gets_the_403_page_for_each_roles_pages(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    operator = await staff_user(gateway, admin_token, "data_operator",
                                department=provider["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, operator)
    for role, paths in ROLE_PAGES.items():
        for path in paths:
            answer = await page.goto(f"{node.gateway_url}{path}")
            assert answer is not None and answer.status == 403, path
            await expect(page.get_by_role("heading", level=1)).to_have_text("无权访问此页面")
            await expect(page.locator("main")).to_contain_text(
                {"request_reviewer": "共享审核员", "catalog_editor": "目录编目员",
                 "arbiter": "仲裁人员", "auditor": "审计管理员",
                 "node_admin": "系统管理员"}[role])


async def test_a_systems_secret_is_shown_once_and_a_role_beyond_duty_is_refused(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    await sign_in_with_the_form(page, node.gateway_url, admin)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="系统管理").click()
    await page.get_by_role("link", name="系统接入凭证").click()
    await page.get_by_label("系统名称").fill("社保业务系统")
    await page.get_by_label("所属部门（统一社会信用代码）").fill(provider["credit_code"])
    await page.get_by_label("数据操作员").check()
    await page.get_by_role("button", name="创建凭证").click()
    secret = await page.locator("#client-secret").inner_text()
    client_id = await page.locator("dt:text-is('client_id') + dd").inner_text()
    token = await gateway.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id.strip(),
        "client_secret": secret.strip()})
    assert token.status_code == 200, token.text
    await page.goto(f"{node.gateway_url}/admin/clients?department={provider['credit_code']}")
    await expect(page.locator("main")).not_to_contain_text(secret.strip())

    await page.goto(f"{node.gateway_url}/admin/users")
    await page.get_by_label("用户名").fill("audit.zhou")
    await page.get_by_label("姓名").fill("周敏")
    await page.get_by_label("初始密码").fill("一个足够长的初始密码一个足够长")
    await page.get_by_role("group", name="角色", exact=True).get_by_label("审计管理员").check()
    await page.get_by_role("button", name="添加用户").click()
    await expect(page.locator("#e-roles")).to_contain_text("须由安全管理员设置")


async def test_the_admin_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, tmp_path: Path) -> None:
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, admin)
        for name, path in (("admin", "/admin"), ("departments", "/admin/departments"),
                           ("clients", f"/admin/clients?department={provider['credit_code']}"),
                           ("users", f"/admin/users?department={provider['credit_code']}")):
            await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await context.close()

"""The portal in a real browser (headless Chromium): signing in and out, finding an entry
and opening it, the 403 page, the open-data site without signing in, a form stripped of its
CSRF token refused; and every main page laid out for a laptop and a phone (screenshots kept
in GOVSHARE_SCREENSHOTS when set)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.conftest import RunningNode
from tests.integration.conftest import Party, application, conditional_entry, publish, submit
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_open_data import open_dataset

pytestmark = pytest.mark.integration


async def test_a_reviewer_signs_in_sees_who_they_are_and_signs_out(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    username = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"], name="赵敏")
    await sign_in_with_the_form(page, node.gateway_url, username)
    header = page.locator("header.site")
    await expect(header).to_contain_text("赵敏")
    await expect(header).to_contain_text(provider["name"])
    await expect(header).to_contain_text("共享审核员")
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("status")).to_contain_text("您已安全退出")
    await page.goto(f"{node.gateway_url}/department")
    await expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()


async def test_search_finds_an_entry_and_its_page_opens(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    entry = factories.population_entry()
    code = await publish(gateway, provider, entry)
    username = await staff_user(gateway, admin_token, "catalog_editor",
                                department=provider["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, username)
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="目录检索").click()
    await page.get_by_label("关键词").fill(str(entry["name"]))
    await page.get_by_label("关键词").press("Enter")  # htmx swaps the results in place
    found = page.get_by_role("link", name=str(entry["name"]))
    await found.click()
    await page.wait_for_url(f"**/catalog/entries/{code}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(str(entry["name"]))
    await expect(page.get_by_role("region", name="信息项")).to_contain_text("公民身份号码")


async def test_a_person_without_the_role_gets_the_403_page(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(gateway, admin_token, "arbiter")
    await sign_in_with_the_form(page, node.gateway_url, username)
    await expect(page.get_by_role("navigation", name="主导航")).not_to_contain_text("本部门")
    answer = await page.goto(f"{node.gateway_url}/department")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("无权访问此页面")


async def test_the_public_finds_an_open_entry_and_downloads_its_data_without_signing_in(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, provider: Party) -> None:
    entry = factories.open_entry()
    code = await open_dataset(gateway, provider, entry)
    await page.goto(f"{node.gateway_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("开放数据")
    await page.get_by_label("检索开放目录").fill(str(entry["name"]))
    await page.get_by_role("button", name="检索").click()
    await page.get_by_role("link", name=str(entry["name"])).click()
    await page.wait_for_url(f"**/public/entries/{code}")
    await expect(page.locator("main")).to_contain_text("注明来源后可自由使用")
    async with page.expect_download() as started:
        await page.get_by_role("link", name="下载 CSV 文件").click()
    download = await started.value
    assert download.suggested_filename == f"{code.replace('/', '-')}.csv"
    saved = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    assert "鼓楼公园1号站" in saved and "1390000" not in saved  # the telephone is not open


async def test_a_form_stripped_of_its_csrf_token_is_refused(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(gateway, admin_token, "arbiter")
    await sign_in_with_the_form(page, node.gateway_url, username)
    await page.locator('form.signout input[name="csrf_token"]').evaluate("i => i.remove()")
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("表单已失效")
    await page.goto(f"{node.gateway_url}/")  # still signed in: the sign-out was not done
    await expect(page.locator("header.site")).to_contain_text("仲裁人员")


async def test_the_main_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party, tmp_path: Path) -> None:
    entry = {**factories.population_entry(), "open": {"is_open": True}}
    code = await publish(gateway, provider, entry)
    conditional = await publish(gateway, provider, conditional_entry())
    awaiting = await submit(gateway, consumer, application(conditional))  # a countdown to show
    assert awaiting.status_code == 201, awaiting.text
    username = await staff_user(gateway, admin_token, "catalog_editor", "request_reviewer",
                                department=provider["credit_code"], name="欧阳晓明")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        pages = {"public": "/public", "public-entry": f"/public/entries/{code}",
                 "api-guide": "/public/api", "login": "/login"}
        for name, path in pages.items():
            await _look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await sign_in_with_the_form(page, node.gateway_url, username)
        staff = {"home": "/", "search": f"/catalog?q={entry['name']}",
                 "search-all": "/catalog", "entry": f"/catalog/entries/{conditional}",
                 "department": "/department"}
        for name, path in staff.items():
            await _look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await expect(page.locator(".due")).to_contain_text("剩余 10 个工作日")
        await context.close()


async def _look_at(page: Page, url: str, shot: Path) -> None:
    """Open `url`, keep a screenshot, and check nothing runs wider than the screen."""
    answer = await page.goto(url)
    assert answer is not None and answer.ok, url
    await page.wait_for_load_state("networkidle")  # what htmx loads after the page too
    await page.screenshot(path=str(shot), full_page=True)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} is {overflow}px wider than the screen"

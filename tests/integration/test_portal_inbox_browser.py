"""The inbox in a real browser (headless Chromium): the header's unread count arrives by
htmx, the notice opens its page, "全部标为已读" clears the count; the inbox and the mail
settings laid out for a laptop and a phone (screenshots kept in GOVSHARE_SCREENSHOTS)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import RunningNode
from tests.integration.conftest import Party, application, conditional_entry, publish, submit
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import sign_in, staff_user

pytestmark = pytest.mark.integration


async def notices_arrived(node: RunningNode, username: str, count: int) -> None:
    """Wait until the person has `count` unread notices (the events travel meanwhile)."""
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as browser:
        assert (await sign_in(browser, username)).status_code == 303
        async with asyncio.timeout(30):
            while True:
                badge = (await browser.get("/inbox/unread-count")).text
                if f">{count}</span>" in badge:
                    return
                await asyncio.sleep(0.2)


async def test_a_reviewer_follows_the_headers_count_to_the_notice_and_clears_it(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party) -> None:
    username = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"], name="孙丽")
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    await notices_arrived(node, username, 1)
    await sign_in_with_the_form(page, node.gateway_url, username)
    badge = page.locator("header.site .inbox-badge")
    await expect(badge.locator(".count")).to_have_text("1")  # swapped in by htmx
    await badge.click()
    await page.wait_for_url("**/inbox")
    notice = page.get_by_role("link", name=f"新的共享申请待答复：{entry['name']}")
    await expect(notice).to_be_visible()
    await page.get_by_role("button", name="全部标为已读").click()
    await page.wait_for_url("**/inbox")
    await expect(badge.locator(".count")).to_have_count(0)
    await expect(page.locator(".notice.unread")).to_have_count(0)
    await notice.click()
    await page.wait_for_url(f"**/requests/{filed.json()['id']}")


async def test_the_inbox_and_the_mail_settings_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party, tmp_path: Path) -> None:
    reviewer = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"], name="欧阳晓明")
    admin = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    for _ in range(3):
        code = await publish(gateway, provider, conditional_entry())
        assert (await submit(gateway, consumer, application(code))).status_code == 201
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        for username, name, path in ((reviewer, "inbox", "/inbox"),
                                     (admin, "notice-mail", "/admin/notice-mail")):
            context = await chromium.new_context(viewport=viewport, locale="zh-CN")
            page = await context.new_page()
            await sign_in_with_the_form(page, node.gateway_url, username)
            if name == "inbox":
                await notices_arrived(node, username, 3)
            answer = await page.goto(f"{node.gateway_url}{path}")
            assert answer is not None and answer.ok, path
            await page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than the screen"
            await context.close()

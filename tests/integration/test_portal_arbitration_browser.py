"""The arbiter in a real browser (headless Chromium): an escalated case with the consumer's
message, a decision without its reason refused at the reason, then decided."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.conftest import RunningNode
from tests.integration.conftest import Party, bearer
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_arbitration import escalated, seat
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration


async def test_an_arbiter_reads_both_sides_and_decides_with_a_reason(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party) -> None:
    case = await escalated(gateway, provider, consumer)
    bureau = factories.department()
    registered = await gateway.post("/api/authorization/departments", json=bureau,
                                    headers=bearer(admin_token))
    assert registered.status_code == 201, registered.text
    await seat(gateway, admin_token, "competent_authority", bureau["credit_code"])
    arbiter = await staff_user(gateway, admin_token, "arbiter",
                               department=bureau["credit_code"], name="黄磊")
    await sign_in_with_the_form(page, node.gateway_url, arbiter)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="协调裁决").click()
    request_id = case.rsplit("/", 1)[1]
    await page.locator(f"a[href='/arbitration/{request_id}']").click()
    await expect(page.locator("#messages")).to_contain_text("人口普查比对确需使用")
    decision = page.get_by_role("form", name="作出裁决")
    await decision.get_by_label("不予共享").check()
    await decision.get_by_role("button", name="作出裁决").click()
    await expect(decision.get_by_label("裁决理由")).to_have_attribute("aria-invalid", "true")
    await decision.get_by_label("裁决理由").fill("依《统计法》第二十五条不得提供")
    await decision.get_by_role("button", name="作出裁决").click()
    await expect(page.get_by_role("status")).to_have_text("裁决已作出。")
    decided = (await gateway.get(case, headers=bearer(consumer["token"]))).json()
    assert decided["status"] == "decided" and decided["decision"]["grant"] is False


async def test_the_arbiters_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party, tmp_path: Path) -> None:
    case = await escalated(gateway, provider, consumer)
    arbiter = await staff_user(gateway, admin_token, "arbiter", name="黄磊")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, arbiter)
        for name, path in (("cases", "/arbitration"),
                           ("case", f"/arbitration/{case.rsplit('/', 1)[1]}")):
            await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await context.close()

"""目录监督 in a real browser (headless Chromium), as the competent authority's clerk uses it:
the departments of a district with their counts, the overdue ones in red and first, narrowed
by the search's facets, a facet the API refuses told at its input, a department opened to its
overdue update and its duplicate collection; both screen sizes; the 403 page for others."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from shared.workdays import china_date
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import Party, bearer, conditional_entry, publish
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_oversight import auditor_user
from tests.integration.portal_people import staff_user
from tests.integration.test_catalog_supervision import a_department, fresh_region, with_item
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration


async def a_district_with_a_late_department(gateway: httpx.AsyncClient,
                                            admin_token: str) -> tuple[str, Party, Party]:
    """A district's two departments: one on time, one whose catalog update is 60 days late
    and which catalogues an item the other collects."""
    region = fresh_region()
    on_time, late = (await a_department(gateway, admin_token, region),
                     await a_department(gateway, admin_token, region))
    item = f"HYZK{random.randint(100_000, 999_999)}"
    assert (await gateway.put(f"/api/catalog/responsibilities/{item}",
                              headers=bearer(admin_token),
                              json={"item_name": f"婚姻状况{item}",
                                    "department": on_time["credit_code"]})).status_code == 200
    await publish(gateway, on_time, conditional_entry())
    await publish(gateway, late, with_item(conditional_entry(), item, "婚姻状况"))
    occurred = china_date(datetime.now(UTC)) - timedelta(days=60)
    recorded = await gateway.post("/api/catalog/triggers", headers=bearer(admin_token), json={
        "department": late["credit_code"], "kind": "law_revised",
        "description": "《婚姻登记条例》修订", "occurred_on": occurred.isoformat()})
    assert recorded.status_code == 201, recorded.text
    return region, on_time, late


async def test_the_competent_authority_finds_the_late_department_and_opens_it(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str) -> None:
    region, _, late = await a_district_with_a_late_department(gateway, admin_token)
    clerk = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    await sign_in_with_the_form(page, node.gateway_url, clerk)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="目录监督").click()
    await page.get_by_label("行政区划代码").fill("6501")
    await page.get_by_role("button", name="查看").click()
    await expect(page.get_by_label("行政区划代码")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("行政区划代码").fill(region)
    await page.get_by_role("button", name="查看").click()
    rows = page.get_by_role("region", name="各部门目录情况").locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text(late["name"])  # the overdue first
    await expect(rows.first.locator("td[data-label='逾期'] .verdict.bad")).to_have_text("1")
    await expect(rows.nth(1).locator("td[data-label='逾期']")).to_have_text("0")

    await page.get_by_label("层级").select_option("county")
    await page.get_by_role("button", name="查看").click()
    await expect(page.get_by_text("没有符合条件的部门。")).to_be_visible()
    await page.get_by_label("层级").select_option("")
    await page.get_by_label("共享方式").select_option("online_query")
    await page.get_by_role("button", name="查看").click()
    await expect(rows).to_have_count(2)

    await page.get_by_role("link", name=late["name"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(late["name"])
    triggers = page.get_by_role("region", name="目录更新事项")
    await expect(triggers).to_contain_text("《婚姻登记条例》修订")
    await expect(triggers).to_contain_text("逾期未办结")
    flags = page.get_by_role("region", name="重复采集")
    await expect(flags).to_contain_text("婚姻状况")
    await page.get_by_role("link", name="1 条").click()  # its published entries
    await expect(page.get_by_role("heading", level=1)).to_have_text("目录检索")
    await expect(page.locator("article.hit")).to_have_count(1)


async def test_a_person_without_an_oversight_role_gets_the_403_page(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await expect(page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="目录监督")).to_have_count(0)
    for path in ("/catalog/supervision", f"/catalog/supervision/{provider['credit_code']}"):
        answer = await page.goto(f"{node.gateway_url}{path}")
        assert answer is not None and answer.status == 403, path
        await expect(page.get_by_role("heading", level=1)).to_have_text("无权访问此页面")


async def test_the_supervision_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, infrastructure: Infrastructure,
        gateway: httpx.AsyncClient, admin_token: str, tmp_path: Path) -> None:
    region, _, late = await a_district_with_a_late_department(gateway, admin_token)
    auditor = await auditor_user(infrastructure)
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, auditor)
        for name, path in (("supervision", f"/catalog/supervision?region={region}"),
                           ("supervision-department",
                            f"/catalog/supervision/{late['credit_code']}")):
            await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await context.close()

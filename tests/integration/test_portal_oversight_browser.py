"""The auditor in a real browser (headless Chromium): the yearly report read in the page and
downloaded as PDF; the audit log filtered and its chain verified."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from shared.workdays import china_date
from tests.conftest import Infrastructure, RunningNode
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_oversight import auditor_user
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration


async def test_an_auditor_reads_the_yearly_report_and_downloads_its_pdf(
        page: Page, node: RunningNode, infrastructure: Infrastructure,
        admin_token: str) -> None:
    auditor = await auditor_user(infrastructure)
    await sign_in_with_the_form(page, node.gateway_url, auditor)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="考核评估").click()
    await page.get_by_role("link", name="年度报告").click()
    report = page.frame_locator("iframe.report-frame")
    await expect(report.locator("h1")).to_contain_text("年度政务信息资源共享评价报告")
    async with page.expect_download() as started:
        await page.get_by_role("link", name="下载 PDF").click()
    download = await started.value
    assert download.suggested_filename.endswith(".pdf")
    saved = await download.path()
    assert saved.read_bytes().startswith(b"%PDF")


async def test_an_auditor_filters_the_audit_log_and_verifies_its_chain(
        page: Page, node: RunningNode, infrastructure: Infrastructure,
        admin_token: str) -> None:
    auditor = await auditor_user(infrastructure)
    await sign_in_with_the_form(page, node.gateway_url, auditor)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="审计日志").click()
    await page.get_by_label("使用部门（信用代码）").fill("不是信用代码")
    await page.get_by_role("button", name="筛选").click()
    await expect(page.get_by_label("使用部门（信用代码）")).to_have_attribute(
        "aria-invalid", "true")
    await page.get_by_label("使用部门（信用代码）").fill("")
    await page.get_by_label("访问方式").select_option("query")
    await page.get_by_role("button", name="筛选").click()
    await expect(page.get_by_role("heading", name="访问记录")).to_be_visible()
    await page.get_by_role("link", name="校验审计链").click()
    await expect(page.get_by_role("heading", level=2).first).to_contain_text("完整，未被篡改")


async def test_the_oversight_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, infrastructure: Infrastructure,
        admin_token: str, tmp_path: Path) -> None:
    auditor = await auditor_user(infrastructure)
    year = china_date(datetime.now(UTC)).year
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, auditor)
        for name, path in (("audit", "/audit"), ("verification", "/audit/verification"),
                           ("scores", "/evaluation"),
                           ("rectifications", "/evaluation/rectifications"),
                           ("report", f"/evaluation/reports/{year}")):
            await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await context.close()

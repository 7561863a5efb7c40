"""W4 in a real browser (headless Chromium): a catalog editor downloads the template from
本部门目录 → 从Excel导入, fills it in, and uploads it; a base item shared on conditions is
refused at its cell (sheet, cell, column, the C3 message and its article) with nothing
stored, and once mended every draft is created; the department's current catalog downloads
with them; the report fits a phone; a person without the role gets the 403 page."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, expect

from tests.conftest import RunningNode
from tests.integration.conftest import ENTRIES, Party, bearer
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.workbooks import ITEMS, RESOURCES, fill, insurance, population, rows

pytestmark = pytest.mark.integration


async def names_of(gateway: httpx.AsyncClient, provider: Party) -> set[str]:
    listed = await gateway.get(ENTRIES, headers=bearer(provider["token"]),
                               params={"provider": provider["credit_code"], "limit": 100})
    return {entry["name"] for entry in listed.json()["items"]}


async def downloaded(page: Page, link: str, saved: Path) -> Path:
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name=link).click()
    await (await downloading.value).save_as(saved)
    return saved


async def import_file(page: Page, workbook: Path) -> None:
    await page.get_by_label("Excel 工作簿（.xlsx）").set_input_files(workbook)
    await page.get_by_role("button", name="导入").click()


async def test_an_editor_imports_a_workbook_refused_at_its_cell_then_every_draft(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, tmp_path: Path) -> None:
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="周敏")
    before = await names_of(gateway, provider)
    await sign_in_with_the_form(page, node.gateway_url, editor)
    menu = page.get_by_role("navigation", name="主导航")
    await menu.get_by_role("link", name="本部门目录").click()
    await page.get_by_role("link", name="从Excel导入").click()
    await expect(menu.get_by_role("link", name="本部门目录")).to_have_attribute(
        "aria-current", "page")
    template = await downloaded(page, "下载空白模板", tmp_path / "模板.xlsx")
    book = load_workbook(template)
    broken = population()
    broken[1][1]["共享类型"] = "有条件共享"  # 公民身份号码: sheet 信息项, row 3
    conditional = insurance()
    workbook = tmp_path / "本部门目录.xlsx"
    workbook.write_bytes(fill(book, *rows(broken, conditional)))

    await import_file(page, workbook)

    await expect(page.get_by_role("alert")).to_contain_text("一条也没有保存")
    refused = page.get_by_role("region", name="不符合要求的单元格").get_by_role("row")
    await expect(refused).to_have_count(2)  # the headers and the one cell
    cell = refused.filter(has_text="H3")
    for shown in (ITEMS, "共享类型", "基础信息资源的基础信息项必须无条件共享（C3）。",
                  "C3（51 §10(二)）"):
        await expect(cell).to_contain_text(shown)
    assert await names_of(gateway, provider) == before

    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the upload)
    await page.screenshot(path=str(shots / "workbook-refused-laptop.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(shots / "workbook-refused-phone.png"), full_page=True)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the refusals are {overflow}px wider than a phone"
    await page.set_viewport_size(LAPTOP)

    book[ITEMS]["H3"] = "无条件共享"
    book.save(workbook)
    await import_file(page, workbook)

    await expect(page.get_by_role("status")).to_contain_text("新编草稿 2 条")
    await page.screenshot(path=str(shots / "workbook-imported-laptop.png"), full_page=True)
    made = page.get_by_role("region", name="导入的目录")
    for resource, _ in (broken, conditional):
        await expect(made).to_contain_text(resource["信息资源名称"])
    assert await names_of(gateway, provider) == before | {
        broken[0]["信息资源名称"], conditional[0]["信息资源名称"]}
    current = load_workbook(await downloaded(page, "下载本部门现有目录", tmp_path / "现有.xlsx"))
    listed = {row[1] for row in current[RESOURCES].iter_rows(min_row=2, values_only=True)}
    assert listed == await names_of(gateway, provider)


async def test_a_person_without_the_editor_role_gets_the_403_page(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    operator = await staff_user(gateway, admin_token, "data_operator",
                                department=provider["credit_code"])
    context = await chromium.new_context(viewport=LAPTOP, locale="zh-CN")
    try:
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, operator)
        for path in ("/catalog/workbook", "/catalog/workbook/template"):
            answer = await page.goto(f"{node.gateway_url}{path}")
            assert answer is not None and answer.status == 403, path
            await expect(page.get_by_role("heading", level=1)).to_have_text("无权访问此页面")
    finally:
        await context.close()

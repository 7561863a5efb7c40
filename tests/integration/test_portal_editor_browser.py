"""The catalog editor in a real browser (headless Chromium): a base resource whose base item
is not unconditional is refused with the C3 message at that item's share type, mended and
saved as a draft, published; an item held back names its own legal basis on its row (C2); a
change trigger (C6) shows its due date and countdown."""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from shared.workdays import china_date
from tests.conftest import RunningNode
from tests.integration.conftest import ENTRIES, Party, bearer, conditional_entry, publish
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration


async def test_a_base_item_not_shared_unconditionally_is_refused_at_its_share_type(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="周敏")
    name = f"常住人口基础信息{random.randint(100_000, 999_999)}"
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="本部门目录").click()
    await page.get_by_role("link", name="编制新目录").click()
    await page.get_by_label("信息资源分类（类）").select_option("base")
    await page.get_by_label("项（两位数字）").fill("01")
    await page.get_by_label("信息资源名称").fill(name)
    await page.get_by_label("信息资源摘要").fill("本市常住人口的姓名、公民身份号码等基础信息。")
    await page.get_by_label("信息资源格式").select_option("database")
    await page.get_by_label("更新周期").select_option("daily")
    await page.get_by_label("第 1 行名称").fill("公民身份号码")
    await page.get_by_label("第 1 行代码").fill("GMSFHM")
    await page.get_by_label("第 1 行数据类型").select_option("C")
    await page.get_by_label("第 1 行共享类型").select_option("conditional")
    await page.get_by_label("第 1 行基础信息项").check()
    await page.get_by_label("共享类型", exact=True).select_option("unconditional")
    await page.get_by_label("联机查询").check()
    await page.get_by_role("button", name="保存为草稿").click()

    share_type = page.get_by_label("第 1 行共享类型")
    await expect(share_type).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-items\\.0\\.share_type")).to_have_text(
        "基础信息资源的基础信息项必须无条件共享（C3）。")
    await expect(page.get_by_label("第 1 行名称")).to_have_value("公民身份号码")  # as typed

    await share_type.select_option("unconditional")
    await page.get_by_role("button", name="保存为草稿").click()
    await expect(page.get_by_role("status")).to_contain_text("已保存为草稿")
    await page.get_by_role("button", name="发布此目录").click()
    await expect(page.get_by_role("status")).to_contain_text("已发布")
    code = re.search(r"\d+/\d{6}", await page.locator("h1 + .meta .code").inner_text())
    assert code is not None
    published = (await gateway.get(f"{ENTRIES}/{code[0]}",
                                   headers=bearer(provider["token"]))).json()
    assert published["status"] == "published" and published["name"] == name


async def test_an_item_held_back_is_refused_at_its_row_until_it_names_its_legal_basis(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="李强")
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await page.goto(f"{node.gateway_url}/catalog/new")
    await page.get_by_label("信息资源分类（类）").select_option("theme")
    await page.get_by_label("项（两位数字）").fill("10")
    await page.get_by_label("信息资源名称").fill(f"宗地信息{random.randint(100_000, 999_999)}")
    await page.get_by_label("信息资源摘要").fill("宗地编号和界址点坐标。")
    await page.get_by_label("信息资源格式").select_option("database")
    await page.get_by_label("更新周期").select_option("monthly")
    for row, (name, code, share) in enumerate((("宗地编号", "ZDBM", "unconditional"),
                                               ("界址点坐标", "JZDZB", "not_shared")), 1):
        await page.get_by_label(f"第 {row} 行名称").fill(name)
        await page.get_by_label(f"第 {row} 行代码").fill(code)
        await page.get_by_label(f"第 {row} 行数据类型").select_option("C")
        await page.get_by_label(f"第 {row} 行共享类型").select_option(share)
    await page.get_by_label("共享类型", exact=True).select_option("unconditional")
    await page.get_by_label("批量下载").check()
    await page.get_by_role("button", name="保存为草稿").click()

    kind = page.get_by_label("第 2 行不予共享的依据类别")
    await expect(kind).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-items\\.1\\.legal_basis")).to_have_text(
        "不予共享须列明法律、行政法规或党中央、国务院政策依据（C2）。")
    await kind.select_option("law")
    await page.get_by_label("第 2 行依据名称及条款").fill("《中华人民共和国测绘法》第三十四条")
    await page.get_by_role("button", name="保存为草稿").click()
    await expect(page.get_by_role("status")).to_contain_text("已保存为草稿")
    await expect(page.get_by_label("第 2 行依据名称及条款")).to_have_value(
        "《中华人民共和国测绘法》第三十四条")


async def test_a_change_trigger_shows_its_due_date_and_a_published_change_resolves_it(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    code = await publish(gateway, provider, conditional_entry())
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await page.goto(f"{node.gateway_url}/catalog/triggers")
    await page.get_by_label("事由类别").select_option("law_revised")
    await page.get_by_label("说明").fill("《社会保险法》修订")
    await page.get_by_role("button", name="登记").click()
    refused = page.locator("#e-occurred_on")  # no date: the API says it is needed
    await expect(refused).to_have_text("此项必填。")
    occurred = china_date(datetime.now(UTC)) - timedelta(days=20)
    await page.get_by_label("发生日期").fill(occurred.isoformat())
    await page.get_by_role("button", name="登记").click()
    row = page.get_by_role("row").filter(has_text="《社会保险法》修订")
    await expect(row).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"))
    await row.get_by_text("办结此事项").click()
    await row.get_by_label("已按变更修改并发布（或撤销）的目录").select_option(code)
    await row.get_by_label("办理说明").fill("已按修订后的条款更新共享条件")
    await row.get_by_role("button", name="办结").click()
    await expect(row).to_contain_text("已于")


async def test_the_editors_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, tmp_path: Path) -> None:
    code = await publish(gateway, provider, conditional_entry())
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="欧阳晓明")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, editor)
        for name, path in (("own", "/catalog/own"), ("compile", "/catalog/new"),
                           ("edit", f"/catalog/entries/{code}/edit"),
                           ("triggers", "/catalog/triggers")):
            await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await context.close()

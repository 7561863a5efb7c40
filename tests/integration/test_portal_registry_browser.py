"""The catalog editor's registry pages and the consumer's usefulness reports in a real browser
(headless Chromium): a duplicate collection (C7) listed with its entry and, once the item is
removed, among the cleared with why; a database registered, refused at its name, updated and
deregistered with its reason (C8); a project's catalog filed and accepted with published
entries only (C8); a data operator reports how useful a grant's data was and the provider's
reads it; each page fits a laptop and a phone, and a person without the role gets the 403
page."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import RunningNode
from tests.integration.conftest import (
    ENTRIES,
    Party,
    bearer,
    conditional_entry,
    create,
    publish,
)
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_catalog_collection import _department_entry as department_entry
from tests.integration.test_catalog_collection import _entry_with_item as entry_with_item
from tests.integration.test_exchange import EXCHANGE, shared_entry
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration

DATABASES = "/api/catalog/databases"
PROJECTS = "/api/catalog/projects"


async def flagged_entry(gateway: httpx.AsyncClient, admin_token: str, provider: Party,
                        responsible: Party) -> tuple[str, str]:
    """A published entry of `provider` collecting an item the register gives to
    `responsible`: its code and the item's."""
    item = f"HYZK{random.randint(10_000, 99_999)}"
    registered = await gateway.put(f"/api/catalog/responsibilities/{item}",
                                   headers=bearer(admin_token),
                                   json={"item_name": f"婚姻状况{item}",
                                         "department": responsible["credit_code"]})
    assert registered.status_code == 200, registered.text
    return await publish(gateway, provider, entry_with_item(item, "婚姻状况")), item


async def test_a_duplicate_collection_leads_to_its_entry_and_once_cleared_says_why(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party) -> None:
    code, item = await flagged_entry(gateway, admin_token, provider, consumer)
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="周敏")
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="本部门目录").click()
    await page.get_by_role("link", name="重复采集（C7）").click()
    row = page.get_by_role("row").filter(has_text=item)
    await expect(row).to_contain_text("婚姻状况")
    await expect(row.get_by_role("link", name="修改目录")).to_have_attribute(
        "href", f"/catalog/entries/{code}/edit")
    await expect(page.get_by_role("navigation", name="主导航").locator(
        "[aria-current=page]")).to_have_text("本部门目录")
    await row.locator(f"a[href='/catalog/entries/{code}']").click()
    await page.wait_for_url(f"**/catalog/entries/{code}")
    await expect(page.locator("main")).to_contain_text(f"（{item}）由")

    removed = await gateway.put(f"{ENTRIES}/{code}", headers=bearer(provider["token"]),
                                json={**department_entry(),
                                      "reason": "婚姻状况改由民政部门共享获取"})
    assert removed.status_code == 200, removed.text
    await page.goto(f"{node.gateway_url}/catalog/duplicates")
    await expect(page.get_by_role("row").filter(has_text=item)).to_have_count(0)
    await page.get_by_role("link", name="已消除").click()
    cleared = page.get_by_role("row").filter(has_text=item)
    await expect(cleared).to_contain_text("已删除该信息项")
    await expect(cleared.locator(f"a[href='/catalog/entries/{code}']")).to_have_count(1)


async def test_a_database_is_registered_refused_at_its_name_updated_and_deregistered(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="吴刚")
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await page.goto(f"{node.gateway_url}/catalog/own")
    await page.get_by_role("link", name="数据库登记").click()
    form = page.get_by_role("form", name="登记数据库")
    await form.get_by_label("数据库管理系统").fill("PostgreSQL 16")
    await form.get_by_label("用途与内容说明").fill("社保参保信息主库")
    await form.get_by_label(str(entry["name"])).check()
    await form.get_by_role("button", name="登记").click()
    name = page.get_by_role("form", name="登记数据库").get_by_label("数据库名称")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-name")).to_have_text("此项必填。")
    await expect(page.get_by_label("用途与内容说明")).to_have_value("社保参保信息主库")
    await expect(page.get_by_label(str(entry["name"]))).to_be_checked()  # as chosen

    await name.fill("社会保险参保信息库")
    await page.get_by_role("button", name="登记").click()
    await expect(page.get_by_role("status")).to_have_text("已登记。")
    await expect(page.get_by_role("heading", level=1)).to_have_text("社会保险参保信息库")
    await expect(page.locator("dt:text-is('支撑的目录') + dd")).to_contain_text(code)
    update = page.get_by_role("form", name="更新登记")
    await update.get_by_label("用途与内容说明").fill("社保参保信息主库（已迁移至政务云）")
    await update.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_have_text("登记已更新。")
    await expect(page.locator("h1 + .meta .tag")).to_have_text("已更新")

    await page.get_by_role("button", name="注销登记").click()  # without its reason
    await expect(page.get_by_label("注销理由")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-reason")).to_have_text("此项必填。")
    await page.get_by_label("注销理由").fill("并入市级社会保险数据库")
    await page.get_by_role("button", name="注销登记").click()
    await expect(page.locator("h1 + .meta .tag")).to_have_text("已注销")
    await expect(page.get_by_role("form", name="更新登记")).to_have_count(0)
    listed = (await gateway.get(DATABASES, headers=bearer(provider["token"]),
                                params={"department": provider["credit_code"]})).json()
    assert [(d["name"], d["status"], d["reason"]) for d in listed["items"]] == [
        ("社会保险参保信息库", "deregistered", "并入市级社会保险数据库")]
    await page.goto(f"{node.gateway_url}/catalog/databases")
    await expect(page.get_by_role("row").filter(has_text="社会保险参保信息库")).to_contain_text(
        "已注销")


async def test_a_project_is_filed_and_accepted_only_with_published_entries(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    built = conditional_entry()
    await publish(gateway, provider, built)
    draft = (await create(gateway, provider, conditional_entry())).json()
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="郑丽")
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await page.goto(f"{node.gateway_url}/catalog/own")
    await page.get_by_role("link", name="项目目录").click()
    await page.get_by_label("项目名称").fill("智慧人社综合信息平台建设项目")
    await page.get_by_role("button", name="报送").click()
    await expect(page.get_by_label("拟建设的信息资源")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-planned_resources")).to_have_text("此项必填。")
    await expect(page.get_by_label("项目名称")).to_have_value("智慧人社综合信息平台建设项目")
    await page.get_by_label("拟建设的信息资源").fill("养老保险参保信息\n就业登记信息\n")
    await page.get_by_role("button", name="报送").click()
    await expect(page.get_by_role("status")).to_have_text("项目目录已报送。")
    await expect(page.locator("h1 + .meta .tag")).to_have_text("已报送（立项前）")
    await expect(page.locator("main")).to_contain_text("养老保险参保信息、就业登记信息")

    acceptance = page.get_by_role("form", name="验收挂接目录")
    await acceptance.get_by_label(draft["name"]).check()
    await acceptance.get_by_role("button", name="验收并挂接").click()
    await expect(page.locator("#e-entry_codes")).to_have_text(
        "验收时挂接的须是本部门已发布的目录（C8）。")
    acceptance = page.get_by_role("form", name="验收挂接目录")
    await acceptance.get_by_label(draft["name"]).uncheck()
    await acceptance.get_by_label(str(built["name"])).check()
    await acceptance.get_by_role("button", name="验收并挂接").click()
    await expect(page.get_by_role("status")).to_have_text("已验收，项目目录已挂接。")
    await expect(page.locator("dt:text-is('挂接的目录') + dd")).to_contain_text(
        str(built["name"]))
    await page.get_by_role("link", name="项目目录").click()
    await expect(page.get_by_role("row").filter(
        has_text="智慧人社综合信息平台建设项目")).to_contain_text("已验收")


async def test_a_data_operator_reports_how_useful_the_data_was_and_the_provider_reads_it(
        page: Page, chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient,
        admin_token: str, provider: Party, consumer: Party) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    using = await staff_user(gateway, admin_token, "data_operator",
                             department=consumer["credit_code"], name="陈静")
    providing = await staff_user(gateway, admin_token, "data_operator",
                                 department=provider["credit_code"], name="刘洋")
    await sign_in_with_the_form(page, node.gateway_url, using)
    await page.goto(f"{node.gateway_url}/grants/{shared.grant['id']}")
    reports = page.get_by_role("region", name="使用效果反馈")
    await expect(reports).to_contain_text("使用部门尚未反馈使用效果。")
    comment = "数据及时准确，满足养老资格认证需要"
    await reports.get_by_label("说明（可选）").fill(comment)
    await reports.get_by_role("button", name="提交反馈").click()  # without a rating
    await expect(page.get_by_label("使用效果评分")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-rating")).to_have_text("此项必填。")
    await expect(page.get_by_label("说明（可选）")).to_have_value(comment)
    await page.get_by_label("使用效果评分").select_option(label="4 分：较好满足")
    await page.get_by_role("button", name="提交反馈").click()
    await expect(page.get_by_role("status")).to_contain_text("使用效果反馈已提交")
    await expect(page.get_by_role("region", name="使用效果反馈")).to_contain_text(
        "满足养老资格认证需要")
    await page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="效果反馈").click()
    mine = page.get_by_role("row").filter(has_text="满足养老资格认证需要")
    await expect(mine).to_contain_text("本部门提交")
    await expect(mine).to_contain_text("4 分")

    context = await chromium.new_context(viewport=LAPTOP, locale="zh-CN")
    provider_page = await context.new_page()
    await sign_in_with_the_form(provider_page, node.gateway_url, providing)
    await provider_page.goto(f"{node.gateway_url}/usefulness")
    theirs = provider_page.get_by_role("row").filter(has_text="满足养老资格认证需要")
    await expect(theirs).to_contain_text("对本部门数据")
    await expect(provider_page.get_by_role("button", name="提交反馈")).to_have_count(0)
    await context.close()
    filed = (await gateway.get(f"{EXCHANGE}/usefulness", headers=bearer(provider["token"]),
                               params={"entry_code": shared.code})).json()["items"]
    assert [(r["consumer"], r["rating"]) for r in filed] == [(consumer["credit_code"], 4)]


async def test_a_person_without_the_role_gets_the_403_page(
        page: Page, chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient,
        admin_token: str, provider: Party) -> None:
    someone = str(uuid.uuid4())
    operator = await staff_user(gateway, admin_token, "data_operator",
                                department=provider["credit_code"])
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"])
    for username, paths, role in (
            (operator, ["/catalog/duplicates", "/catalog/databases",
                        f"/catalog/databases/{someone}", "/catalog/projects",
                        f"/catalog/projects/{someone}"], "目录编目员"),
            (editor, ["/usefulness"], "数据操作员")):
        context = await chromium.new_context(viewport=LAPTOP, locale="zh-CN")
        signed_in = await context.new_page()
        await sign_in_with_the_form(signed_in, node.gateway_url, username)
        for path in paths:
            answer = await signed_in.goto(f"{node.gateway_url}{path}")
            assert answer is not None and answer.status == 403, path
            await expect(signed_in.get_by_role("heading", level=1)).to_have_text("无权访问此页面")
            await expect(signed_in.locator("main")).to_contain_text(role)
        await context.close()
    await sign_in_with_the_form(page, node.gateway_url, editor)
    await expect(page.get_by_role("navigation", name="主导航")).not_to_contain_text("效果反馈")


async def test_the_registry_and_usefulness_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party, tmp_path: Path) -> None:
    code, _ = await flagged_entry(gateway, admin_token, provider, consumer)
    cleared, _ = await flagged_entry(gateway, admin_token, provider, consumer)
    gone = await gateway.post(f"{ENTRIES}/{cleared}/withdraw",
                              headers=bearer(provider["token"]), json={"reason": "并入其他目录"})
    assert gone.status_code == 200, gone.text
    auth = bearer(provider["token"])
    database = (await gateway.post(DATABASES, headers=auth, json={
        "name": "全市人口基础信息库（主库）", "dbms": "达梦 DM8",
        "description": "支撑人口基础信息目录的主库，每日与公安户籍系统同步。",
        "resource_codes": [code]})).json()
    project = (await gateway.post(PROJECTS, headers=auth, json={
        "name": "智慧民政综合信息平台建设项目",
        "planned_resources": ["婚姻登记信息", "社会救助对象信息", "养老服务机构信息"]})).json()
    shared = await shared_entry(gateway, consumer, provider)  # the provider's side uses it
    made = await gateway.post(f"{EXCHANGE}/usefulness", headers=auth, json={
        "entry_code": shared.code, "rating": 3,
        "comment": "数据基本满足需要，希望增加户籍地址的行政区划代码以便按区县统计。"})
    assert made.status_code == 201, made.text
    editor = await staff_user(gateway, admin_token, "catalog_editor", "data_operator",
                              department=provider["credit_code"], name="欧阳晓明")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    pages = {"duplicates": "/catalog/duplicates",
             "duplicates-cleared": "/catalog/duplicates?state=cleared",
             "databases": "/catalog/databases", "database": f"/catalog/databases/{database['id']}",
             "projects": "/catalog/projects", "project": f"/catalog/projects/{project['id']}",
             "grant-usefulness": f"/grants/{shared.grant['id']}", "usefulness": "/usefulness"}
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await chromium.new_context(viewport=viewport, locale="zh-CN")
        page = await context.new_page()
        await sign_in_with_the_form(page, node.gateway_url, editor)
        for name, path in pages.items():
            await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
        await context.close()

"""Sharing in a real browser (headless Chromium), both departments at their own screens: the
consumer's reviewer files a request from the entry's page, the provider's reviewer finds it
in the queue with its due date and working-day countdown, approves it narrowed, and the
consumer sees the grant; a refusal without its reason is refused at the reason."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from services.portal.pages import cn_date
from shared.workdays import china_date
from tests.conftest import RunningNode
from tests.integration.conftest import (
    REQUESTS,
    Party,
    answer,
    application,
    bearer,
    conditional_entry,
    publish,
    submit,
)
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_portal_browser import _look_at as look_at

pytestmark = pytest.mark.integration


async def requestable(gateway: httpx.AsyncClient, consumer: Party, code: str) -> None:
    """Wait until the authorization service knows the entry: a request for a period already
    over is refused for its period (A5), not for an unknown entry, and nothing is kept."""
    yesterday = (china_date(datetime.now(UTC)) - timedelta(days=1)).isoformat()
    probe = await submit(gateway, consumer, application(code, valid_until=yesterday))
    assert probe.status_code == 422 and probe.json()["field"] == "valid_until", probe.text


async def signed_in(chromium: Browser, node: RunningNode, username: str) -> Page:
    """Another person's browser (its own cookies), signed in."""
    context = await chromium.new_context(viewport=LAPTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in_with_the_form(page, node.gateway_url, username)
    return page


async def test_a_request_is_filed_answered_narrowed_and_the_consumer_sees_the_grant(
        page: Page, chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient,
        admin_token: str, provider: Party, consumer: Party) -> None:
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    asking = await staff_user(gateway, admin_token, "request_reviewer",
                              department=consumer["credit_code"], name="陈静")
    answering = await staff_user(gateway, admin_token, "request_reviewer",
                                 department=provider["credit_code"], name="刘洋")
    await requestable(gateway, consumer, code)

    await sign_in_with_the_form(page, node.gateway_url, asking)
    await page.goto(f"{node.gateway_url}/catalog/entries/{code}")
    await page.get_by_role("link", name="申请使用此资源").click()
    await page.get_by_label("使用用途").select_option(label="数据校核")
    await page.get_by_label("公民身份号码（GMSFHM").check()
    await page.get_by_label("缴费基数（JFJS").check()
    await page.get_by_label("联机查询").check()
    await page.get_by_label("使用依据").fill("《社会保险法》第五十八条：办理参保登记时核验身份")
    await page.get_by_role("button", name="提交申请").click()
    await page.wait_for_url(re.compile(r".*/requests/[0-9a-f-]{36}\?done=filed"))
    request_id = page.url.split("/requests/")[1].split("?")[0]
    # The consumer's own request is followed from its department's page, not the queue.
    await expect(page.locator('nav a[aria-current="page"]')).to_have_text("本部门")
    filed = (await gateway.get(f"{REQUESTS}/{request_id}",
                               headers=bearer(consumer["token"]))).json()
    assert filed["status"] == "submitted" and filed["items"] == ["GMSFHM", "JFJS"]

    reviewer = await signed_in(chromium, node, answering)
    await reviewer.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="待答复申请").click()
    row = reviewer.get_by_role("row").filter(has_text=str(entry["name"]))
    await expect(row).to_contain_text(cn_date(filed["due_on"]))
    await expect(row).to_contain_text(re.compile(r"剩余 \d+ 个工作日"))
    await row.get_by_role("link", name=str(entry["name"])).click()
    approval = reviewer.get_by_role("form", name="同意共享")
    await approval.get_by_label("缴费基数（JFJS）").uncheck()
    await approval.get_by_label("每分钟调用次数上限（可选）").fill("30")
    await approval.get_by_role("button", name="同意并授权").click()
    await expect(reviewer.locator("h1 + .meta .tag").first).to_have_text("已同意")
    await reviewer.context.close()

    await page.reload()
    await page.get_by_role("link", name="查看授权").click()
    await expect(page.locator("main")).to_contain_text("有效")
    items = page.locator("dt:text-is('信息项') + dd")
    await expect(items).to_contain_text("公民身份号码")
    await expect(items).not_to_contain_text("缴费基数")
    await expect(page.locator("dt:text-is('调用频率上限') + dd")).to_have_text("每分钟 30 次")


async def test_a_refusal_without_a_reason_is_refused_at_the_reason(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party) -> None:
    code = await publish(gateway, provider, conditional_entry())
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    answering = await staff_user(gateway, admin_token, "request_reviewer",
                                 department=provider["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, answering)
    await page.goto(f"{node.gateway_url}/requests/{filed.json()['id']}")
    refusal = page.get_by_role("form", name="拒绝共享")
    await refusal.get_by_role("button", name="拒绝申请").click()
    reason = refusal.get_by_label("拒绝理由")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(refusal.locator(".field-error")).to_have_text("拒绝共享必须说明理由（A2）。")
    still = (await gateway.get(f"{REQUESTS}/{filed.json()['id']}",
                               headers=bearer(provider["token"]))).json()
    assert still["status"] == "submitted" and still["answer"] is None
    await reason.fill("该信息涉及个人隐私，需先签订保密协议")
    await refusal.get_by_role("button", name="拒绝申请").click()
    await expect(page.locator("h1 + .meta .tag").first).to_have_text("已拒绝")


async def test_the_consumer_negotiates_a_refusal_escalates_it_and_withdraws(
        page: Page, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party) -> None:
    entry = conditional_entry()
    filed = await submit(gateway, consumer, application(await publish(gateway, provider,
                                                                      entry)))
    request_id = filed.json()["id"]
    refused = await answer(gateway, provider, request_id, approve=False,
                           reason="缴费基数属敏感信息，需说明具体业务场景")
    assert refused.status_code == 200, refused.text
    asking = await staff_user(gateway, admin_token, "request_reviewer",
                              department=consumer["credit_code"])
    await sign_in_with_the_form(page, node.gateway_url, asking)
    await page.goto(f"{node.gateway_url}/department?tab=outgoing")
    row = page.get_by_role("row").filter(has_text=str(entry["name"]))
    await row.get_by_role("link", name="详情").click()
    await expect(page.locator("main")).to_contain_text("缴费基数属敏感信息")
    await page.get_by_label("发起协商").fill("用于参保登记时核验缴费基数，已获授权文件")
    await page.get_by_role("button", name="发起协商").click()
    status = page.locator("h1 + .meta .tag").first
    await expect(status).to_have_text("协商中")
    await expect(page.locator("#messages")).to_contain_text("用于参保登记时核验缴费基数")
    await page.get_by_role("button", name="提请协调").click()  # without its reason
    await expect(page.get_by_label("提请协调")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("提请协调").fill("协商未果，请主管部门裁决")
    await page.get_by_role("button", name="提请协调").click()
    await expect(status).to_have_text("已提请协调")
    await page.get_by_role("button", name="撤回申请").click()
    await expect(status).to_have_text("已撤回")


async def test_the_sharing_pages_fit_a_laptop_and_a_phone(
        chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party, tmp_path: Path) -> None:
    code = await publish(gateway, provider, conditional_entry())
    waiting = await submit(gateway, consumer, application(code))
    granted = await submit(gateway, consumer, application(await publish(
        gateway, provider, conditional_entry())))
    approved = await answer(gateway, provider, granted.json()["id"], approve=True,
                            row_filter=[{"item": "GMSFHM", "op": "prefix",
                                         "values": ["320102", "320104"]}])
    assert approved.status_code == 200, approved.text
    reviewer = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"], name="欧阳晓明")
    asking = await staff_user(gateway, admin_token, "request_reviewer",
                              department=consumer["credit_code"], name="陈静")
    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser)
    pages = {reviewer: {"queue": "/requests", "request": f"/requests/{waiting.json()['id']}",
                        "grant": f"/grants/{approved.json()['grant_id']}"},
             asking: {"filing": f"/catalog/entries/{code}/request",
                      "request-consumer": f"/requests/{granted.json()['id']}"}}
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        for username, shown in pages.items():
            context = await chromium.new_context(viewport=viewport, locale="zh-CN")
            page = await context.new_page()
            await sign_in_with_the_form(page, node.gateway_url, username)
            for name, path in shown.items():
                await look_at(page, f"{node.gateway_url}{path}", shots / f"{name}-{size}.png")
            await context.close()

"""Confidentiality agreements and objections in a real browser (headless Chromium): the
provider proposes the agreement a sensitive grant waits for, the consumer's confirmation
with another document's hash is refused at the hash and with the same one puts the grant in
force; the consumer's data operator then objects to a record and the provider confirms it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from shared.workdays import china_date
from tests.conftest import RunningNode
from tests.integration.conftest import GRANTS, Party, bearer, eventually
from tests.integration.portal_browser import LAPTOP, PHONE, sign_in_with_the_form
from tests.integration.portal_people import staff_user
from tests.integration.test_confidentiality_agreements import sensitive_grant, signed
from tests.integration.test_portal_browser import _look_at as look_at
from tests.integration.test_portal_sharing_browser import signed_in

pytestmark = pytest.mark.integration


async def test_an_agreement_confirmed_in_the_portal_puts_the_grant_in_force_and_an_objection_is_answered(  # noqa: E501
        page: Page, chromium: Browser, node: RunningNode, gateway: httpx.AsyncClient,
        admin_token: str, provider: Party, consumer: Party, tmp_path: Path) -> None:
    _, grant_id, row = await sensitive_grant(gateway, provider, consumer)
    ours = await staff_user(gateway, admin_token, "request_reviewer", "data_operator",
                            department=provider["credit_code"], name="刘洋")
    theirs = await staff_user(gateway, admin_token, "request_reviewer", "data_operator",
                              department=consumer["credit_code"], name="陈静")
    terms = signed(china_date(datetime.now(UTC)))

    proposing = await signed_in(chromium, node, ours)
    await proposing.goto(f"{node.gateway_url}/grants/{grant_id}")
    await proposing.get_by_role("link", name="提出保密协议").click()
    for label, name in (("协议编号", "reference"), ("签署文本的 SHA-256", "document_sha256"),
                        ("签署日期", "signed_on"), ("有效期至", "valid_until")):
        await proposing.get_by_label(label).fill(str(terms[name]))
    await proposing.get_by_role("button", name="提出协议").click()
    await expect(proposing.get_by_role("status")).to_contain_text("等待对方确认")
    agreement = proposing.url.split("?")[0]
    await proposing.context.close()

    await sign_in_with_the_form(page, node.gateway_url, theirs)
    await page.goto(agreement)
    sha = page.get_by_label("我方签署文本的 SHA-256")
    await sha.fill("0" * 64)
    await page.get_by_role("button", name="确认").click()
    await expect(sha).to_have_attribute("aria-invalid", "true")
    await sha.fill(str(terms["document_sha256"]))
    await page.get_by_role("button", name="确认").click()
    await expect(page.get_by_role("status")).to_contain_text("协议生效")
    await eventually(gateway, consumer, f"{GRANTS}/{grant_id}", "status", "active")

    await page.goto(f"{node.gateway_url}/grants/{grant_id}")
    await page.get_by_role("link", name="对获得的数据提出异议").click()
    await page.get_by_label("记录的主键值").fill(row["GMSFHM"])
    await page.get_by_label("异议类型").select_option("doubtful")
    await page.get_by_label("异议说明").fill("姓名与本部门登记的不一致")
    await page.get_by_role("button", name="提出异议").click()
    await expect(page.get_by_role("status")).to_have_text("已提交。")
    objection = page.url.split("?")[0]

    answering = await signed_in(chromium, node, ours)
    await answering.goto(objection)
    await answering.get_by_role("button", name="开始核实").click()
    await answering.get_by_label("核实结果").select_option("confirmed")
    await answering.get_by_label("答复说明").fill("经与户籍原始档案核对，数据无误")
    await answering.get_by_role("button", name="答复").click()
    await expect(answering.locator("h1 + .meta .tag")).to_have_text("经核实无误")
    body = (await gateway.get(objection.replace(node.gateway_url, "/api/exchange"),
                              headers=bearer(consumer["token"]))).json()
    assert body["status"] == "confirmed"

    shots = Path(os.environ.get("GOVSHARE_SCREENSHOTS") or tmp_path)
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        await answering.set_viewport_size(viewport)
        for name, url in (("agreement", agreement), ("objection", objection),
                          ("agreements", f"{node.gateway_url}/agreements"),
                          ("objections", f"{node.gateway_url}/objections")):
            await look_at(answering, url, shots / f"{name}-{size}.png")

"""Notices by mail, against a real SMTP server (aiosmtpd) on the port the test node's portal
mails to: the node admin sets a department's notification address in the portal; a notice
to that department is mailed once; with the server down it waits, is retried, and is mailed
once when the server is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import Party, application, conditional_entry, publish, submit
from tests.integration.portal_people import form_token, sign_in, staff_user

pytestmark = pytest.mark.integration


class MailDrop:
    """What the SMTP server accepted, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def about(self, words: str, to: str) -> list[EmailMessage]:
        """Those to `to` about `words` (the other party's department may be told of the
        same entry at an address an earlier test gave it)."""
        return [message for message in self.messages
                if words in str(message["Subject"]) and message["To"] == to]

    def subjects(self) -> list[tuple[str, str]]:
        return [(str(message["To"]), str(message["Subject"])) for message in self.messages]


@contextmanager
def mail_server(port: int) -> Iterator[MailDrop]:
    """A real SMTP server on the loopback port the portal mails to, while the block runs."""
    drop = MailDrop()
    controller = Controller(drop, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield drop
    finally:
        controller.stop()


@pytest.fixture
async def portal_db(infrastructure: Infrastructure) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infrastructure.database_url, schema="portal")
    yield engine
    await engine.dispose()


@pytest.fixture
async def admin_browser(gateway: httpx.AsyncClient, node: RunningNode,
                        admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The node admin, signed in to the portal."""
    username = await staff_user(gateway, admin_token, "node_admin", name="王芳")
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as browser:
        assert (await sign_in(browser, username)).status_code == 303
        yield browser


async def notify_by_mail(browser: httpx.AsyncClient, party: Party, address: str,
                         *named_too: Party) -> None:
    """Set the department's notification address on the admin page, once the portal knows
    the department (and those `named_too`: the mail names them) from their events."""
    async with asyncio.timeout(30):
        for department in (party, *named_too):
            while True:
                page = await browser.get("/admin/notice-mail",
                                         params={"q": department["credit_code"]})
                if department["name"] in page.text:
                    break
                await asyncio.sleep(0.2)
    saved = await browser.post("/admin/notice-mail", data={
        "csrf_token": form_token(page), "department": party["credit_code"], "address": address})
    assert saved.status_code == 303, saved.text
    assert address in (await browser.get(saved.headers["location"])).text


async def mailed(drop: MailDrop, words: str, to: str) -> EmailMessage:
    async with asyncio.timeout(30):
        while True:
            if drop.about(words, to):
                return drop.about(words, to)[0]
            await asyncio.sleep(0.1)


async def mail_row(engine: AsyncEngine, words: str) -> dict[str, Any] | None:
    async with engine.connect() as connection:
        row = (await connection.execute(text(
            "select m.attempts, m.sent_at, m.last_error from notice_mail m "
            "join notice n on n.id = m.notice_id where n.title like :title"),
            {"title": f"%{words}%"})).mappings().first()
    return dict(row) if row else None


async def test_a_notice_is_mailed_once_to_its_departments_address(
        gateway: httpx.AsyncClient, node: RunningNode, admin_browser: httpx.AsyncClient,
        provider: Party, consumer: Party) -> None:
    await notify_by_mail(admin_browser, provider, "gongxiang@gaj.nanjing.gov.cn", consumer)
    entry = conditional_entry()
    with mail_server(node.smtp_port) as drop:
        code = await publish(gateway, provider, entry)
        filed = await submit(gateway, consumer, application(code))
        assert filed.status_code == 201, filed.text
        # The request's notice (the entry may also be flagged as collected twice: another).
        to_answer = f"新的共享申请待答复：{entry['name']}"
        message = await mailed(drop, to_answer, "gongxiang@gaj.nanjing.gov.cn")
        await asyncio.sleep(1.5)  # several rounds of the mail job: nothing more comes
        assert len(drop.about(to_answer, "gongxiang@gaj.nanjing.gov.cn")) == 1, \
            drop.subjects()
    assert str(message["Subject"]) == f"【政务数据共享】新的共享申请待答复：{entry['name']}"
    assert str(message["Message-ID"]).startswith("<notice-")
    body = message.get_content()
    assert consumer["name"] in body and f"/requests/{filed.json()['id']}" in body


async def test_a_notice_waits_while_the_mail_server_is_down_and_is_mailed_once_after(
        gateway: httpx.AsyncClient, node: RunningNode, admin_browser: httpx.AsyncClient,
        portal_db: AsyncEngine, provider: Party, consumer: Party) -> None:
    await notify_by_mail(admin_browser, provider, "shenhe@rsj.nanjing.gov.cn")
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    assert (await submit(gateway, consumer, application(code))).status_code == 201
    async with asyncio.timeout(30):  # nothing listens: each try fails and is put off
        while True:
            row = await mail_row(portal_db, entry["name"])
            if row is not None and row["attempts"] >= 2:
                break
            await asyncio.sleep(0.2)
    assert row["sent_at"] is None and "connect" in row["last_error"].lower()
    page = await admin_browser.get("/admin/notice-mail")
    assert "最近一次发送失败" in page.text
    with mail_server(node.smtp_port) as drop:
        to_answer = f"新的共享申请待答复：{entry['name']}"
        await mailed(drop, to_answer, "shenhe@rsj.nanjing.gov.cn")
        await asyncio.sleep(1.5)
        assert len(drop.about(to_answer, "shenhe@rsj.nanjing.gov.cn")) == 1, drop.subjects()
    row = await mail_row(portal_db, entry["name"])
    assert row is not None and row["sent_at"] is not None and row["attempts"] >= 2


async def test_only_the_node_admin_sets_addresses_and_a_bad_one_is_refused_at_its_field(
        gateway: httpx.AsyncClient, node: RunningNode, admin_token: str,
        admin_browser: httpx.AsyncClient, provider: Party) -> None:
    reviewer = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"])
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as browser:
        assert (await sign_in(browser, reviewer)).status_code == 303
        page = await browser.get("/admin/notice-mail")
        assert page.status_code == 403 and "系统管理员" in page.text
        refused = await browser.post("/admin/notice-mail", data={
            "csrf_token": form_token(await browser.get("/inbox")),
            "department": provider["credit_code"], "address": "shenhe@example.gov.cn"})
        assert refused.status_code == 403
    await notify_by_mail(admin_browser, provider, "gongxiang@example.gov.cn")
    page = await admin_browser.get("/admin/notice-mail", params={"q": provider["credit_code"]})
    bad = await admin_browser.post("/admin/notice-mail", data={
        "csrf_token": form_token(page), "department": provider["credit_code"],
        "address": "不是邮箱"})
    assert bad.status_code == 422 and "邮箱地址格式不正确" in bad.text
    assert 'aria-invalid="true"' in bad.text
    unknown = await admin_browser.post("/admin/notice-mail", data={
        "csrf_token": form_token(page), "department": "../../etc", "address": ""})
    assert unknown.status_code == 422 and "请选择本节点登记的部门" in unknown.text
    kept = await admin_browser.get("/admin/notice-mail", params={"q": provider["credit_code"]})
    assert "gongxiang@example.gov.cn" in kept.text  # nothing was changed by the refusals

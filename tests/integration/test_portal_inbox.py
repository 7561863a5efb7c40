"""The inbox (站内信) through a running node: the services' events travel over the real
broker to the portal, which makes the notices; people read them through the gateway's pages
with their own session, each seeing only what their department and role are told."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, datetime, time, timedelta

import httpx
import pytest

from services.portal.pages import cn_date
from shared.contracts.catalog import TriggerRecorded
from shared.workdays import CHINA_TIME
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import (
    NodeClock,
    Party,
    answer,
    application,
    conditional_entry,
    publish,
    register_department,
    submit,
)
from tests.integration.portal_people import form_token, sign_in, staff_user
from tests.integration.test_evaluation import History, at

pytestmark = pytest.mark.integration

NOTICE_LINK = re.compile(r'href="/inbox/([0-9a-f-]{36})">([^<]+)</a>')


@asynccontextmanager
async def browsers(node: RunningNode, *usernames: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """A signed-in browser (cookies kept) for each person."""
    async with AsyncExitStack() as stack:
        opened = []
        for username in usernames:
            browser = await stack.enter_async_context(
                httpx.AsyncClient(base_url=node.gateway_url, timeout=30))
            assert (await sign_in(browser, username)).status_code == 303
            opened.append(browser)
        yield opened


def notices_on(page: httpx.Response) -> dict[str, str]:
    """The notices a page of the inbox lists: title → notice id."""
    return {title: notice_id for notice_id, title in NOTICE_LINK.findall(page.text)}


async def notice_titled(browser: httpx.AsyncClient, start: str) -> tuple[str, httpx.Response]:
    """Wait until the person's inbox lists a notice whose title begins with `start` (some
    end with a countdown); its id and the page."""
    async with asyncio.timeout(30):
        while True:
            page = await browser.get("/inbox")
            assert page.status_code == 200, page.text
            for title, notice_id in notices_on(page).items():
                if title.startswith(start):
                    return notice_id, page
            await asyncio.sleep(0.2)


async def named_in_inbox(browser: httpx.AsyncClient, name: str) -> None:
    """Wait until the inbox names `name` (names are filled in as the portal learns them)."""
    async with asyncio.timeout(30):
        while True:
            if name in (await browser.get("/inbox")).text:
                return
            await asyncio.sleep(0.2)


async def unread(browser: httpx.AsyncClient) -> int:
    badge = await browser.get("/inbox/unread-count")
    assert badge.status_code == 200
    count = re.search(r'<span class="count"[^>]*>(\d+)</span>', badge.text)
    return int(count[1]) if count else 0


async def test_a_filed_request_reaches_the_providers_reviewer_and_its_answer_the_consumer(
        gateway: httpx.AsyncClient, node: RunningNode, admin_token: str,
        provider: Party, consumer: Party) -> None:
    reviewer = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"], name="刘洋")
    editor = await staff_user(gateway, admin_token, "catalog_editor",
                              department=provider["credit_code"], name="周敏")
    asker = await staff_user(gateway, admin_token, "request_reviewer",
                             department=consumer["credit_code"], name="陈静")
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    request = filed.json()
    async with browsers(node, reviewer, editor, asker) as (provider_reviewer, provider_editor,
                                                           consumer_reviewer):
        asked = f"新的共享申请待答复：{entry['name']}"
        notice_id, page = await notice_titled(provider_reviewer, asked)
        assert cn_date(date.fromisoformat(request["due_on"])) in page.text
        await named_in_inbox(provider_reviewer, consumer["name"])  # not a credit code
        assert await unread(provider_reviewer) >= 1

        # The same department without the role, and the other department, are not told.
        for other in (provider_editor, consumer_reviewer):
            assert asked not in notices_on(await other.get("/inbox"))
            assert (await other.get(f"/inbox/{notice_id}")).status_code == 404

        # Opening the notice marks it read and leads to the request's page.
        before = await unread(provider_reviewer)
        opened = await provider_reviewer.get(f"/inbox/{notice_id}")
        assert opened.status_code == 303
        assert opened.headers["location"] == f"/requests/{request['id']}"
        assert await unread(provider_reviewer) == before - 1
        assert asked not in notices_on(await provider_reviewer.get("/inbox?unread=true"))

        approved = await answer(gateway, provider, request["id"], approve=True)
        assert approved.status_code == 200, approved.text
        answered = f"共享申请已同意：{entry['name']}"
        answered_id, page = await notice_titled(consumer_reviewer, answered)
        granted = f"已获得共享授权：“{entry['name']}”（{code}）"
        await notice_titled(consumer_reviewer, granted)

        # Marking one read, then all: the header's count follows.
        count = await unread(consumer_reviewer)
        marked = await consumer_reviewer.post(f"/inbox/{answered_id}/read",
                                              data={"csrf_token": form_token(page)})
        assert marked.status_code == 303
        assert await unread(consumer_reviewer) == count - 1
        page = await consumer_reviewer.get("/inbox")
        cleared = await consumer_reviewer.post("/inbox/read-all",
                                               data={"csrf_token": form_token(page)})
        assert cleared.status_code == 303 and await unread(consumer_reviewer) == 0
        assert notices_on(await consumer_reviewer.get("/inbox?unread=true")) == {}
        # Nobody marks another department's notice.
        page = await provider_reviewer.get("/inbox")
        assert (await provider_reviewer.post(f"/inbox/{answered_id}/read", data={
            "csrf_token": form_token(page)})).status_code == 404


async def test_a_request_due_within_three_working_days_and_then_overdue_is_reminded_once(
        gateway: httpx.AsyncClient, node: RunningNode, admin_token: str, clock: NodeClock,
        provider: Party, consumer: Party) -> None:
    reviewer = await staff_user(gateway, admin_token, "request_reviewer",
                                department=provider["credit_code"])
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    filed = await submit(gateway, consumer, application(code))
    due_on = date.fromisoformat(filed.json()["due_on"])
    async with browsers(node, reviewer) as (browser,):
        await notice_titled(browser, f"新的共享申请待答复：{entry['name']}")
        clock.set(_until(clock, due_on - timedelta(days=1)))
        _, page = await notice_titled(browser, f"申请即将到期：{entry['name']}")
        assert cn_date(due_on) in page.text
        clock.set(_until(clock, due_on + timedelta(days=1)))
        await notice_titled(browser, f"申请已逾期未答复：{entry['name']}")
        await asyncio.sleep(1.5)  # several reminder rounds: still one of each
        titles = NOTICE_LINK.findall((await browser.get("/inbox")).text)
        assert sum(title.startswith(f"申请即将到期：{entry['name']}") for _, title in titles) == 1
        assert sum(title == f"申请已逾期未答复：{entry['name']}" for _, title in titles) == 1


async def test_a_grant_ending_within_seven_days_is_told_to_both_parties_once(
        gateway: httpx.AsyncClient, node: RunningNode, admin_token: str, clock: NodeClock,
        provider: Party, consumer: Party) -> None:
    people = [await staff_user(gateway, admin_token, "request_reviewer",
                               department=party["credit_code"]) for party in (provider, consumer)]
    entry = conditional_entry()
    code = await publish(gateway, provider, entry)
    last_day = clock.today() + timedelta(days=30)
    filed = await submit(gateway, consumer, application(code, valid_until=last_day.isoformat()))
    approved = await answer(gateway, provider, filed.json()["id"], approve=True)
    assert approved.status_code == 200, approved.text
    async with browsers(node, *people) as parties:
        await notice_titled(parties[1], f"已获得共享授权：“{entry['name']}”")
        clock.set(_until(clock, last_day - timedelta(days=3)))
        ending = f"授权即将到期：“{entry['name']}”（{code}）"
        for browser in parties:
            _, page = await notice_titled(browser, ending)
            assert cn_date(last_day) in page.text
        await asyncio.sleep(1.5)  # several reminder rounds
        for browser in parties:
            titles = NOTICE_LINK.findall((await browser.get("/inbox")).text)
            assert [title for _, title in titles].count(ending) == 1


def _until(clock: NodeClock, day: date) -> timedelta:
    """The clock offset that makes it 10:00 in China on `day`."""
    moment = datetime.combine(day, time(10), tzinfo=CHINA_TIME)
    return clock.offset + (moment - clock.now())


async def test_last_years_rectification_item_reaches_everyone_of_the_department(
        gateway: httpx.AsyncClient, node: RunningNode, admin_token: str, clock: NodeClock,
        infrastructure: Infrastructure) -> None:
    party = await register_department(gateway, admin_token, "catalog_editor")
    code, year = party["credit_code"], clock.today().year
    async with History(infrastructure.bootstrap_servers) as history:
        # A catalog change it never made (C6), this year.
        trigger = uuid.uuid4()
        await history.send(TriggerRecorded(
            trigger_id=trigger, department=code, kind="functions_changed",
            occurred_on=date(year, 1, 5), due_on=date(year, 1, 26)),
            key=str(trigger), when=at(f"{year}-01-05"))
    operator = await staff_user(gateway, admin_token, "data_operator", department=code)
    async with browsers(node, operator) as (browser,):
        # Next spring this year's report is due: the evaluation announces its rectification
        # list, and anyone of the department, whatever their role, is told.
        clock.set(_until(clock, date(year + 1, 3, 1)))
        listed = f"{year}年度整改事项：目录编制与更新"
        notice_id, page = await notice_titled(browser, listed)
        assert "JS §25(一)" in page.text
        await asyncio.sleep(2.5)  # the evaluation looks again every second: still once
        titles = NOTICE_LINK.findall((await browser.get("/inbox")).text)
        assert [title for _, title in titles].count(listed) == 1
        opened = await browser.get(f"/inbox/{notice_id}")
        assert opened.headers["location"] == f"/evaluation/rectifications?year={year}"

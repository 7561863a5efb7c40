"""The portal through the gateway, as a browser without scripts meets it: pages at `/`, the
API where it was, sign-in with a cookie only the portal reads, CSRF refused, a session that
ended leads back to sign-in, a missing role to the 403 page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests import factories
from tests.conftest import RunningNode
from tests.integration.conftest import (
    Party,
    application,
    bearer,
    conditional_entry,
    publish,
    submit,
)
from tests.integration.portal_people import PASSWORD, form_token, sign_in, staff_user

pytestmark = pytest.mark.integration


@pytest.fixture
async def browser(node: RunningNode) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client of the node's website."""
    async with httpx.AsyncClient(base_url=node.gateway_url, timeout=30) as client:
        yield client


async def test_the_gateway_serves_pages_at_the_root_and_the_api_where_it_was(
        browser: httpx.AsyncClient) -> None:
    home = await browser.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/public"
    public = await browser.get("/public")
    assert public.status_code == 200 and "开放数据" in public.text
    assert public.headers["content-type"].startswith("text/html")
    assert (await browser.get("/static/htmx.min.js")).status_code == 200
    assert (await browser.get("/api/catalog/search")).status_code == 401  # still the API
    assert (await browser.get("/health/live")).json() == {"status": "up"}


async def test_signing_in_keeps_the_token_in_a_strict_http_only_cookie(
        browser: httpx.AsyncClient, admin_token: str, provider: Party) -> None:
    username = await staff_user(browser, admin_token, "request_reviewer",
                                department=provider["credit_code"], name="张伟")
    signed_in = await sign_in(browser, username)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    cookie = next(value for name, value in signed_in.headers.multi_items()
                  if name == "set-cookie" and value.startswith("govshare_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    home = await browser.get("/")
    assert "张伟" in home.text and provider["name"] in home.text and "共享审核员" in home.text
    signed_out = await browser.post("/logout", data={"csrf_token": form_token(home)})
    assert signed_out.headers["location"] == "/login?reason=signed_out"
    assert (await browser.get("/catalog")).status_code == 303


async def test_the_cookie_is_secure_when_the_page_came_over_tls(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(browser, admin_token, "node_admin")
    page = await browser.get("/login")
    signed_in = await browser.post(
        "/login", headers={"X-Forwarded-Proto": "https"},
        data={"username": username, "password": PASSWORD, "csrf_token": form_token(page)})
    assert signed_in.status_code == 303
    cookies = [value for name, value in signed_in.headers.multi_items() if name == "set-cookie"]
    assert cookies and all("Secure" in value for value in cookies)


async def test_a_form_without_its_token_is_refused_and_nothing_is_done(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(browser, admin_token, "node_admin")
    await browser.get("/login")  # the browser has a nonce, but the form lacks the token
    refused = await browser.post("/login", data={"username": username, "password": PASSWORD})
    assert refused.status_code == 403 and "表单已失效" in refused.text
    assert "govshare_session" not in browser.cookies
    forged = await browser.post("/login", data={"username": username, "password": PASSWORD,
                                                "csrf_token": "0" * 64})
    assert forged.status_code == 403 and "govshare_session" not in browser.cookies
    other = httpx.AsyncClient(base_url=str(browser.base_url))  # another browser's token
    async with other:
        stolen = form_token(await other.get("/login"))
    assert (await browser.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": stolen})).status_code == 403


async def test_htmx_carries_the_token_in_a_header(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(browser, admin_token, "node_admin")
    await sign_in(browser, username)
    home = await browser.get("/")
    assert f'"X-CSRF-Token": "{form_token(home)}"' in home.text  # hx-headers on the body
    signed_out = await browser.post("/logout", headers={"HX-Request": "true",
                                                        "X-CSRF-Token": form_token(home)})
    assert signed_out.status_code == 303
    assert (await browser.post("/logout", headers={"X-CSRF-Token": "f" * 64})).status_code == 403


async def test_a_wrong_password_is_told_in_chinese_on_the_form(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(browser, admin_token, "node_admin")
    refused = await sign_in(browser, username, password="不是这个密码不是这个密码")
    assert refused.status_code == 422 and "用户名或密码不正确" in refused.text
    empty = await browser.post("/login", data={
        "username": "", "password": "", "csrf_token": form_token(refused)})
    assert "请输入用户名" in empty.text and 'aria-invalid="true"' in empty.text


async def test_an_ended_session_leads_to_sign_in_and_back_to_the_page_wanted(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    browser.cookies.set("govshare_session", "an.expired.token")
    answer = await browser.get("/catalog", params={"q": "户籍"})
    assert answer.status_code == 303
    sign_in_page = httpx.URL(answer.headers["location"])
    assert sign_in_page.path == "/login" and sign_in_page.params["reason"] == "expired"
    login = await browser.get(answer.headers["location"])
    assert "登录已过期" in login.text
    username = await staff_user(browser, admin_token, "node_admin")
    back = await browser.post("/login", data={
        "username": username, "password": PASSWORD, "csrf_token": form_token(login),
        "next": sign_in_page.params["next"]})
    assert httpx.URL(back.headers["location"]).params["q"] == "户籍"


async def test_sign_in_never_sends_a_person_to_another_site(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(browser, admin_token, "node_admin")
    page = await browser.get("/login?next=//evil.example/")
    signed_in = await browser.post("/login", data={
        "username": username, "password": PASSWORD, "next": "//evil.example/",
        "csrf_token": form_token(page)})
    assert signed_in.headers["location"] == "/"


async def test_a_person_without_the_role_gets_the_403_page(
        browser: httpx.AsyncClient, admin_token: str) -> None:
    username = await staff_user(browser, admin_token, "node_admin")
    await sign_in(browser, username)
    page = await browser.get("/department")
    assert page.status_code == 403 and "无权访问此页面" in page.text and "共享审核员" in page.text


async def test_search_finds_an_entry_and_its_page_shows_its_elements(
        browser: httpx.AsyncClient, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party) -> None:
    entry = factories.population_entry()
    code = await publish(gateway, provider, entry)
    username = await staff_user(browser, admin_token, "catalog_editor",
                                department=provider["credit_code"])
    await sign_in(browser, username)
    found = await browser.get("/catalog", params={"q": entry["name"]})
    assert f'href="/catalog/entries/{code}"' in found.text
    page = await browser.get(f"/catalog/entries/{code}")
    assert page.status_code == 200
    assert all(text in page.text for text in (entry["name"], "公民身份号码", "信息资源提供方",
                                              "第 1 版"))
    # Loaded after the page, from the exchange, which learns of the entry by its event.
    async with asyncio.timeout(30):
        while "尚无数据" not in (freshness := await browser.get(
                f"/catalog/entries/{code}/freshness")).text:
            assert "暂未读到" in freshness.text, freshness.text  # not yet, never an error
            await asyncio.sleep(0.2)
    missing = await browser.get("/catalog/entries/999999/999999")
    assert missing.status_code == 404 and "没有找到" in missing.text


async def test_my_department_lists_the_requests_to_answer_with_their_countdown(
        browser: httpx.AsyncClient, gateway: httpx.AsyncClient, admin_token: str,
        provider: Party, consumer: Party) -> None:
    code = await publish(gateway, provider, conditional_entry())
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    username = await staff_user(browser, admin_token, "request_reviewer",
                                department=provider["credit_code"])
    await sign_in(browser, username)
    page = await browser.get("/department")
    assert f'href="/catalog/entries/{code}"' in page.text and "剩余 10 个工作日" in page.text
    assert consumer["credit_code"] in page.text
    tabs = await browser.get("/department/tabs", params={"tab": "incoming"})
    assert '<span class="count">1</span>' in tabs.text
    held = await browser.get("/department", params={"tab": "held"})
    assert "暂无记录" in held.text


async def test_the_public_finds_an_open_entry_without_signing_in(
        browser: httpx.AsyncClient, gateway: httpx.AsyncClient, provider: Party) -> None:
    entry = {**factories.population_entry(), "open": {"is_open": True,
                                                      "conditions": "署名使用"}}
    code = await publish(gateway, provider, entry)
    listed = await browser.get("/public", params={"q": entry["name"]})
    assert f'href="/public/entries/{code}"' in listed.text
    page = await browser.get(f"/public/entries/{code}")
    assert page.status_code == 200 and "署名使用" in page.text
    assert (await gateway.get("/api/catalog/search", headers=bearer(provider["token"])
                              )).status_code == 200

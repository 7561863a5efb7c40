"""One headless Chromium for the test session: Debian's `chromium` driven by Playwright
(never a browser Playwright downloads). Without one, the browser tests are skipped, saying
why: the only skip the suite allows (`.ci/run` installs chromium, so CI always runs them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

# Every staff user the portal's tests make has it (portal_people.staff_user).
PASSWORD = "门户测试用的足够长的密码"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    """The system's Chromium (GOVSHARE_CHROMIUM names another)."""
    named = os.environ.get("GOVSHARE_CHROMIUM")
    return named or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine: install Debian's `chromium` "
                    "(apt-get install -y chromium; .ci/run does) to run the browser tests")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    """A fresh browser profile (no cookies) at a laptop's size."""
    context = await chromium.new_context(viewport=LAPTOP, locale="zh-CN")
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def sign_in_with_the_form(page: Page, base_url: str, username: str) -> None:
    """Sign in in a real browser, as a person types it."""
    await page.goto(f"{base_url}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{base_url}/")
